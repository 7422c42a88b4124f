"""Scratch space for plaintext in RAM: a private folder on tmpfs, wiped however it ends.

A decrypted private part may only exist in memory and in a RAM-backed file system (tmpfs,
e.g. /dev/shm): a 0700 folder, 0600 files, overwritten with zeros then unlinked when the
session ends — normally, on an error, on Ctrl-C, SIGTERM or SIGHUP. A folder left by a
session that was killed outright (SIGKILL, power cut) is wiped by the next session. Without a
tmpfs Témoin refuses rather than write plaintext to a disk. (tmpfs pages can still reach swap:
editing machines should run without swap or with encrypted swap.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from temoin.errors import TemoinError

PREFIX = "temoin-edit-"
# A private mkdtemp (0700) inside, after checking it is tmpfs: not the /tmp race S108 means.
SHM = "/dev/shm"  # noqa: S108


class Interrupted(TemoinError):
    """SIGTERM or SIGHUP during a session (the plaintext copy was wiped)."""


def _mounts() -> list[tuple[str, str]]:
    try:
        text = Path("/proc/mounts").read_text()
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out.append((parts[1].replace("\\040", " "), parts[2]))
    return out


def is_tmpfs(path: Path) -> bool:
    """Is `path` on a RAM-backed file system (tmpfs/ramfs), per its longest mount point?"""
    real = str(Path(path).resolve())
    best, kind = "", ""
    for mount, fstype in _mounts():
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, fstype
    return kind in ("tmpfs", "ramfs")


def tmpfs_dir() -> Path:
    """Where plaintext may live: $TEMOIN_TMPDIR (must be tmpfs), else /dev/shm, else
    $XDG_RUNTIME_DIR. Raises TemoinError when none is a tmpfs."""
    forced = os.environ.get("TEMOIN_TMPDIR")
    candidates = [forced] if forced else [SHM, os.environ.get("XDG_RUNTIME_DIR") or ""]
    for c in candidates:
        if c and Path(c).is_dir() and is_tmpfs(Path(c)) and os.access(c, os.W_OK):
            return Path(c)
    where = f"TEMOIN_TMPDIR={forced}" if forced else f"{SHM} or $XDG_RUNTIME_DIR"
    raise TemoinError(f"no RAM-backed tmpfs at {where}: refusing to write a decrypted private "
                      f"part to a disk. Mount one (`mount -t tmpfs -o mode=1777 tmpfs "
                      f"{SHM}`) or point TEMOIN_TMPDIR at one; `temoin case set` needs none")


def wipe_file(path: Path) -> None:
    """Overwrite a file with zeros (flushed) and unlink it; links are only unlinked."""
    try:
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            with path.open("r+b") as f:
                f.write(b"\0" * size)
                f.flush()
                os.fsync(f.fileno())
        path.unlink(missing_ok=True)
    except FileNotFoundError:
        pass


def wipe_dir(folder: Path) -> None:
    """Wipe every file under `folder` (editor swap and backup files too), then remove it."""
    if not folder.exists():
        return
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            wipe_file(Path(root) / name)
        for name in dirs:
            p = Path(root) / name
            p.unlink() if p.is_symlink() else p.rmdir()
    folder.rmdir()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wipe_stale(base: Path) -> list[Path]:
    """Wipe session folders in `base` whose Témoin process is gone (killed outright)."""
    wiped = []
    for d in base.glob(f"{PREFIX}*"):
        try:
            st = d.lstat()
        except OSError:
            continue
        if d.is_symlink() or not d.is_dir() or st.st_uid != os.getuid():
            continue
        try:
            pid = int((d / "pid").read_text().strip() or 0)
        except (OSError, ValueError):
            # No pid file yet: a session being created right now, unless it is old.
            pid = -1 if time.time() - st.st_mtime < 60 else 0
        if pid == 0 or (pid > 0 and not _alive(pid)):
            wipe_dir(d)
            wiped.append(d)
    return wiped


@contextlib.contextmanager
def _signals_wipe() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception so `finally` wipes (Ctrl-C already is one)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: Any) -> None:
        raise Interrupted(f"interrupted by {signal.Signals(signum).name}: nothing saved, the "
                          "decrypted copy was wiped")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def interruptible() -> contextlib.AbstractContextManager[None]:
    """SIGTERM and SIGHUP raise `Interrupted` in the block (main thread only), so every
    `finally` that wipes plaintext runs: a build's batch folders, in the build and in the
    processes it forks, which keep the handler (attack round 20: `kill`, `timeout` or a
    closed terminal during a build left the parts' plaintexts in RAM)."""
    return _signals_wipe()


@contextlib.contextmanager
def session() -> Iterator[Path]:
    """A private 0700 folder on tmpfs, wiped however the block ends."""
    base = tmpfs_dir()
    wipe_stale(base)
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
    try:
        os.chmod(folder, 0o700)
        (folder / "pid").write_text(str(os.getpid()))
        with _signals_wipe():
            yield folder
    finally:
        wipe_dir(folder)


def write_secret(path: Path, text: str) -> None:
    """Create `path` 0600 (never readable by others, even for an instant)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
