"""The memory a process tree really holds: every ~50 ms, the sum of the proportional set size
(Pss, /proc/PID/smaps_rollup) of a process and all its descendants; the largest sum is kept.

`wait4`'s peak (ru_maxrss) is the largest single process: forked gate workers running beside
the build are never added, and a forked worker's figure counts again the pages it shares with
its parent. Pss divides each shared page among the processes that map it, so the sum counts
each page once. A sample can miss a peak shorter than its interval; processes that start or
vanish mid-read are taken as they are found (a vanished one counts 0). Linux only.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import threading
from collections.abc import Callable


def _ppid(pid: str) -> int | None:
    """The parent of process `pid`, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:  # gone since the listing
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses
    fields = stat.rpartition(b")")[2].split()
    return int(fields[1]) if len(fields) > 1 else None


def tree(root: int, known: dict[str, int | None] | None = None) -> list[int]:
    """`root` and all its descendants alive now. `known` (pid -> parent, kept between calls)
    spares reading the parent of a process seen before: a process keeps its parent until
    that parent dies, and then it leaves the tree anyway (a dead parent is not listed)."""
    known = {} if known is None else known
    alive = [n for n in os.listdir("/proc") if n.isdigit()]
    for gone in known.keys() - set(alive):
        del known[gone]
    kids: dict[int, list[int]] = {}
    for name in alive:
        if name not in known:
            known[name] = _ppid(name)
        ppid = known[name]
        if ppid is not None:
            kids.setdefault(ppid, []).append(int(name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(kids.get(pid, ()))
    return found


def pss_kb(pid: int) -> int:
    """Pss of one process in KB (0 when it is gone, a zombie, or unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _kcmp_vm() -> Callable[[int, int], bool] | None:
    """`same(a, b)`: processes a and b share one address space (kcmp(2), KCMP_VM), or None
    where kcmp cannot be called."""
    nr = {"x86_64": 312, "aarch64": 272}.get(platform.machine())
    if nr is None:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.syscall(nr, os.getpid(), os.getpid(), 1, 0, 0) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return lambda a, b: libc.syscall(nr, a, b, 1, 0, 0) == 0


SAME_VM = _kcmp_vm()


def total_kb(root: int, known: dict[str, int | None] | None = None) -> int:
    """The Pss of `root`'s tree, in KB. A child that still shares its parent's address space
    (subprocess starts gpg or poppler with vfork: until it execs, its smaps are its
    parent's) is not counted twice."""
    known = {} if known is None else known
    total = 0
    for pid in tree(root, known):
        parent = known.get(str(pid))
        if pid != root and parent is not None and SAME_VM is not None and \
                SAME_VM(parent, pid):
            continue
        total += pss_kb(pid)
    return total


class Sampler:
    """`with Sampler(pid) as s: ...`, then `s.peak_mb`: the largest Pss sum of `pid`'s tree
    seen every `interval` seconds (and once more at exit, if the process is still there)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.peak_kb, self.samples = 0, 0
        self._known: dict[str, int | None] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        total = total_kb(self.pid, self._known)
        self.peak_kb = max(self.peak_kb, total)
        self.samples += 1
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            # a failed sample (a /proc oddity) must never fail the bench
            with contextlib.suppress(Exception):
                self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def main() -> int:
    """`pss.py [--every S] -- COMMAND...`: run COMMAND, sample its tree every 50 ms and
    print, every S seconds (default 1), the largest total of that second, the processes
    then and the largest of them (Pss, MB; PID and program), then the peak."""
    import subprocess
    import sys
    import time

    args = sys.argv[1:]
    every = 1.0
    if args[:1] == ["--every"]:
        every, args = float(args[1]), args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    p = subprocess.Popen(args)
    start, known = time.perf_counter(), {}  # type: ignore[var-annotated]
    best: tuple[int, list[tuple[int, int]]] = (0, [])
    peak, slot = 0, 0
    while p.poll() is None:
        sizes = [(pss_kb(pid), pid) for pid in tree(p.pid, known)
                 if pid == p.pid or SAME_VM is None or known.get(str(pid)) is None
                 or not SAME_VM(known[str(pid)] or 0, pid)]
        total = sum(s for s, _ in sizes)
        best = max(best, (total, sorted(sizes, reverse=True)))
        peak = max(peak, total)
        now = time.perf_counter() - start
        if now >= (slot + 1) * every:
            slot = int(now // every)
            total, procs = best
            top = ", ".join(f"{s // 1024} ({_comm(pid)})" for s, pid in procs[:4])
            print(f"{now:7.1f} s  {total // 1024:5d} MB  {len(procs)} proc: {top}",
                  file=sys.stderr, flush=True)
            best = (0, [])
        time.sleep(0.05)
    print(f"peak Pss total {peak / 1024:.0f} MB", file=sys.stderr)
    return p.returncode


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f"{pid} {f.read().strip()}"
    except OSError:
        return str(pid)


if __name__ == "__main__":
    raise SystemExit(main())
