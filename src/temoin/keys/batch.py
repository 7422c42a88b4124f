"""Many hostile messages decrypted by one gpg process, judged as `decrypt` judges one.

`temoin ingest` ran a gpg process per submission, as the bare `gpg --decrypt` loop it is
measured against: ~6 ms of gpg's start-up (keyrings, agent connection) and ~2 ms of
Python's (three threads, the pipes) a submission, a third of the whole. One
`gpg --decrypt-files` run over the next few submissions' ciphertexts costs ~2.5 ms a file.

The batch only ever says "this one decrypted cleanly"; everything else is decided by
`decrypt`, one message at a time, as before (the caller decrypts again alone any item for
which `decrypt_batch` gives None). An item's batch result counts only when

- gpg ended the whole run with exit code 0: no file of it logged an error (gpg's exit code
  is its error count; an error with no status line of its own, a bad or unknown signature,
  an exceeded --max-output, all make it non-zero, and then every item goes alone);
- its own status lines (FILE_START to FILE_DONE) judged by `_decrypt_failure` with exit
  code 0 give no reason (DECRYPTION_OKAY, GOODMDC, one of our keys, one plaintext...), and
  hold no signature problem;
- its plaintext stays within `max_output`.

Compression bombs and floods: the plaintexts and gpg's stderr are files in a private 0700
folder on tmpfs (RAM, never a disk; `temoin.tmpfs`), watched while gpg runs: gpg is
killed the moment one output passes `max_output` or stderr passes `_Stderr.STATUS_MAX`, as
`decrypt` kills it, and the run counts for nothing. Outputs are overwritten with zeros
before the folder is removed, however the run ends.

`decrypt_all` is one run over a whole build's files (one passphrase or smartcard PIN, not
one per file): a run that counts for nothing is split in two and each half run again, so
one file that spoils a run sends a few files alone, not all of them. `extra` passes gpg
options to the run (`--unwrap`: `keys.inline` reads the signed message inside, in process).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from temoin import tmpfs
from temoin.errors import TemoinError
from temoin.keys.decrypt import Decrypted, _Stderr, from_status
from temoin.keys.gpg import BASE_OPTIONS, _status_lines
from temoin.keys.reasons import _SIG_PROBLEMS, _decrypt_failure

if TYPE_CHECKING:
    from temoin.keys.keyring import Keyring

PREFIX = "temoin-batch-"  # the batches' folders in the tmpfs, then the pid
WATCH = 0.02  # seconds between two looks at the outputs' sizes while gpg runs
AHEAD = 16  # outputs looked at from the newest one found, at each look (`_Watch`)
SPLIT_MIN = 8  # a failed run over this many items or fewer is not split (`decrypt_all`)


def decrypt_all(keyring: Keyring, items: list[bytes], max_output: int,
                timeout: float = 300.0, extra: Sequence[str] = ()) -> list[Decrypted | None]:
    """`decrypt_batch` over all of `items` in one run; when that run counts for nothing,
    each half is run again (down to `SPLIT_MIN` items): None is left only for the items of
    runs that still failed, or that the run did not vouch for."""
    out = decrypt_batch(keyring, items, max_output, timeout, extra)
    if len(items) > SPLIT_MIN and all(r is None for r in out):
        half = len(items) // 2
        out = [*decrypt_all(keyring, items[:half], max_output, timeout, extra),
               *decrypt_all(keyring, items[half:], max_output, timeout, extra)]
    return out


def decrypt_batch(keyring: Keyring, items: list[bytes], max_output: int,
                  timeout: float = 300.0, extra: Sequence[str] = ()) -> list[Decrypted | None]:
    """Each item's `Decrypted` (ok, with its plaintext) where one gpg run over all of them
    shows it decrypted cleanly (see the module), else None: decrypt that one alone.
    `extra`: more gpg options for the run."""
    out: list[Decrypted | None] = [None] * len(items)
    if len(items) < 2:
        return out  # nothing to share
    try:
        base = tmpfs.tmpfs_dir()
        _wipe_stale(base)
        work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=base))
    except (TemoinError, OSError):
        return out  # no RAM-backed folder: plaintext never goes to a disk
    try:
        names = []
        for n, item in enumerate(items):
            (work / f"{n}.gpg").write_bytes(item)
            names.append(f"{n}.gpg")
        status = _run(keyring, work, names, max_output, timeout, extra)
        if status is None:
            return out
        files = _per_file(status)
        for n, (name, data) in enumerate(zip(names, items, strict=True)):
            st = files.get(name)
            plain = work / name[:-4]
            if st is None or any(k in st for k in _SIG_PROBLEMS) or _decrypt_failure(
                    st, "", 0, False, data, max_output) or not plain.is_file() \
                    or plain.is_symlink() or plain.stat().st_size > max_output:
                continue
            res = from_status(st)
            res.ok, res.plaintext = True, plain.read_bytes()
            out[n] = res
        return out
    finally:
        _wipe(work)


def _wipe(work: Path) -> None:
    """Overwrite every file of `work` with zeros, then remove it."""
    with suppress(OSError):
        for f in work.iterdir():
            with suppress(OSError):
                if f.is_file() and not f.is_symlink():
                    f.write_bytes(b"\0" * f.stat().st_size)
    shutil.rmtree(work, ignore_errors=True)


def _die_with_parent() -> None:
    """In the gpg child, before exec: die (SIGKILL) when the process that started it dies.
    A gpg orphaned by a killed build (the OOM killer, `kill`) went on writing every
    plaintext into a folder nobody would wipe until some later run (attack round 20)."""
    import ctypes

    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL


_SETPRIV: list[str | None] = []  # util-linux `setpriv`, if it can set the death signal


def _orphan_guard() -> str | None:
    """`setpriv` when it sets PR_SET_PDEATHSIG before it execs gpg (util-linux >= 2.33),
    looked for once a process; else None (`_die_with_parent` runs in the child instead).
    A `preexec_fn` makes Python fork the whole process (its page tables, then a fault on
    each page either side writes) instead of vfork: ~4.5 ms of CPU and 14 ms of wall a
    gpg run at ingest's size, against ~1.4 ms and 3 ms through setpriv (issue 18). The
    death signal survives setpriv's exec of gpg (not set-user-ID), as it does Python's."""
    if not _SETPRIV:
        path = shutil.which("setpriv")
        if path:
            try:
                ok = subprocess.run([path, "--pdeathsig", "KILL", "true"], capture_output=True,
                                    timeout=10, check=False).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            path = path if ok else None
        _SETPRIV.append(path)
    return _SETPRIV[0]


def wipe_dead() -> None:
    """Wipe now the batch folders of processes that are gone (`_wipe_stale`): what a
    surviving parent calls when a process it forked to decrypt died without its `finally`."""
    with suppress(TemoinError, OSError):
        _wipe_stale(tmpfs.tmpfs_dir())


def _wipe_stale(base: Path) -> None:
    """Wipe the folders of batches whose process is gone (killed by SIGKILL or SIGTERM
    before its `finally`): their plaintext would stay in RAM until a reboot. A live
    process's folder is never touched."""
    for d in base.glob(f"{PREFIX}*-*"):
        pid = d.name[len(PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or d.is_symlink() or not d.is_dir() or d.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _wipe(d)
        except OSError:
            pass  # alive, another user's: not ours to touch


def _run(keyring: Keyring, work: Path, names: list[str], max_output: int,
         timeout: float, extra: Sequence[str] = ()) -> str | None:
    """gpg's status text of one `--decrypt-files` run in `work`, or None when the run
    counts for nothing (non-zero exit, killed, timed out)."""
    pw = keyring.passphrase
    if pw and any(c in pw for c in "\n\r\0"):
        return None  # `decrypt` says why, alone
    # --no-use-embedded-filename whatever gpg.conf says: the sender's name never names a
    # file; each output is its input's name without .gpg, in `work`.
    cmd = ["gpg", "--homedir", str(Path(keyring.home).absolute()), "--batch", "--no-tty",
           "--yes", "--no-use-embedded-filename", "--status-fd", "2", *BASE_OPTIONS,
           "--max-output", str(max_output + (1 << 20)), *extra,
           *(["--passphrase-fd", "0"] if pw else []), "--decrypt-files", *names]
    err_path = work / "stderr"
    guard = _orphan_guard()
    with open(err_path, "wb") as err:
        proc = subprocess.Popen([guard, "--pdeathsig", "KILL", *cmd] if guard else cmd,
                                stdin=subprocess.PIPE if pw else subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, cwd=work,
                                env={**os.environ, "LC_ALL": "C", "LANGUAGE": "C"},
                                preexec_fn=None if guard else _die_with_parent)
    if pw and proc.stdin:
        with suppress(BrokenPipeError):
            proc.stdin.write(pw.encode("utf-8") + b"\n")
        with suppress(BrokenPipeError):
            proc.stdin.close()
    deadline = time.monotonic() + timeout
    killed = False
    watch = _Watch(work, names, err_path, max_output)
    while proc.poll() is None:
        if time.monotonic() > deadline or watch.over():
            proc.kill()
            killed = True
            break
        with suppress(subprocess.TimeoutExpired):
            proc.wait(WATCH)
    rc = proc.wait()
    if killed or rc != 0 or _over(work, names, err_path, max_output):
        return None
    with open(err_path, "rb") as f:
        return f.read(_Stderr.STATUS_MAX + 1).decode("latin-1")


class _Watch:
    """The outputs looked at while gpg runs. gpg decrypts the files in order and closes an
    output before it starts the next file, so only the newest output can still grow: each
    look stats the `AHEAD` outputs from the newest found (a thousand files are not stat-ed
    fifty times a second), and every `EVERY`-th look all of them (in case more than
    `AHEAD` files in a row gave no output). The run's end looks at all of them (`_over`)."""

    EVERY = 250

    def __init__(self, work: Path, names: list[str], err_path: Path, max_output: int
                 ) -> None:
        self.work, self.names, self.err_path, self.max_output = work, names, err_path, max_output
        self.outputs = _outputs(work, names)
        self.newest = 0
        self.looks = 0

    def over(self) -> bool:
        self.looks += 1
        if self.looks % self.EVERY == 0:
            return _over(self.work, self.names, self.err_path, self.max_output)
        with suppress(OSError):
            if os.stat(self.err_path).st_size > _Stderr.STATUS_MAX:
                return True
        base = self.newest
        for n, path in enumerate(self.outputs[base:base + AHEAD]):
            try:
                size = os.lstat(path).st_size
            except OSError:
                continue
            if size > self.max_output:
                return True
            self.newest = base + n
        return False


def _outputs(work: Path, names: list[str]) -> list[str]:
    """Where gpg writes each file's output: its name without .gpg, in `work`."""
    folder = str(work)
    return [os.path.join(folder, name[:-4]) for name in names]


def _over(work: Path, names: list[str], err_path: Path, max_output: int) -> bool:
    """Has an output passed `max_output`, or gpg's stderr its bound?"""
    with suppress(OSError):
        if err_path.stat().st_size > _Stderr.STATUS_MAX:
            return True
    for path in _outputs(work, names):
        with suppress(OSError):
            if os.lstat(path).st_size > max_output:
                return True
    return False


def _per_file(status: str) -> dict[str, dict[str, list[str]]]:
    """Each file's own status lines ({keyword: [arguments]}), between its FILE_START and
    its FILE_DONE; a file gpg did not finish has none."""
    found: dict[str, dict[str, list[str]]] = {}
    current: str | None = None
    lines: list[str] = []
    for line in status.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        word, _, rest = line[9:].partition(" ")
        if word == "FILE_START":
            current, lines = rest.split(" ", 1)[-1], []
        elif word == "FILE_DONE":
            if current is not None and current not in found:
                found[current] = _status_lines("\n".join(lines))
            current = None
        elif current is not None:
            lines.append(line)
    return found
