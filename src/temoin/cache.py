"""One cache layer: where every cache lives, what it is keyed and versioned by, and why a
file nobody here wrote is never trusted (DESIGN §1: caches live outside the repository,
authenticated, and can only save work, never skip a check; docs/DESIGN.md, "Caches").

* **Where.** Per user and per clone, outside the working tree:
  `$XDG_CACHE_HOME/temoin/<repo id>/` (default `~/.cache`), folder 0700. The repo id is the
  sha256 of the clone's resolved path: stable for a clone, and it names nothing.
* **Authenticated.** The folder holds a random HMAC key (`key`, 0600) made on first use; it
  never enters the repository. Every cache file carries an HMAC of its name, its version
  and its bytes: a file copied from another machine (another key), committed to the
  repository or edited by hand is ignored (logged at debug level) and rebuilt.
* **Versioned by what it depends on.** Each cache is declared once (`Spec`) with the
  packages whose code it depends on (every file under the package folder: source and
  data), the libraries whose versions matter and any other input; the version is a hash of
  all of that and of Python's version. Code changes, the cache is dropped.
* **Keyed by its inputs.** Each entry is keyed by a hash of everything it was made from
  (bytes, keys and roster, rule code), or, for saved reads only (`StatCache`), by the file's
  (inode, size, mtime_ns, ctime_ns) as recorded by this user.
* **Off switch.** `TEMOIN_NO_CACHE=1` (`--no-cache` on build, serve and check): no cache is
  read or written, and the folder is not even made.

This module imports no stage: callers declare what their cache's version depends on.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import stat
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

from temoin.files import inside, write_atomic

log = logging.getLogger("temoin.cache")

NO_CACHE = "TEMOIN_NO_CACHE"
FORMAT = b"temoin-cache 1"
KEY_FILE = "key"
KEY_BYTES = 32
MAX_SIZE = 1 << 30     # bytes of one cache file read back (larger: ignored, rebuilt)
SPECS: dict[str, Spec] = {}  # every declared cache, by name (docs/DESIGN.md lists them)


def disabled() -> bool:
    """`TEMOIN_NO_CACHE` is set (to anything but "" or "0"): no cache at all."""
    return os.environ.get(NO_CACHE, "").strip() not in ("", "0")


def home() -> Path:
    """`$XDG_CACHE_HOME/temoin` (a relative XDG_CACHE_HOME is ignored, as the spec says)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "temoin"


def repo_id(repo: Path) -> str:
    """The cache folder's name for a clone: sha256 of its resolved path (names nothing)."""
    return hashlib.sha256(os.fsencode(Path(repo).resolve())).hexdigest()


@dataclass(frozen=True)
class Spec:
    """One cache, declared once: its file (or folder) name and what its version hashes.

    `packages`: dotted names; a package counts with every file under its folder (source and
    data), a module with its file. `libraries`: distributions whose versions count.
    `max_size`: a larger file is ignored when read and not written."""

    name: str
    packages: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()
    what: str = ""
    max_size: int = MAX_SIZE

    def __post_init__(self) -> None:
        SPECS[self.name] = self


def _package_files(name: str) -> list[Path]:
    spec = util.find_spec(name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"cache version: no module {name}")
    if not spec.submodule_search_locations:
        return [Path(spec.origin)]
    out: list[Path] = []
    for folder in spec.submodule_search_locations:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            out += [Path(root, f) for f in sorted(files) if not f.endswith((".pyc", ".pyo"))]
    return out


def version(spec: Spec, extra: Iterable[str] = ()) -> str:
    """sha256 of everything `spec` depends on: this module, its packages' files (path and
    bytes), its libraries' versions, Python's version and `extra` (other inputs the
    caller knows of, e.g. a font's stamp)."""
    h = hashlib.sha256(FORMAT + b"\0" + spec.name.encode() + b"\0" + sys.version.encode())
    for name in ("temoin.cache", "temoin.files", *spec.packages):
        for f in _package_files(name):
            data = f.read_bytes()
            h.update(f"\0{name}:{f.name}:{len(data)}\0".encode("utf-8", "surrogateescape"))
            h.update(data)
    from importlib import metadata  # email, zipfile, csv…: not for commands that never ask

    for lib in spec.libraries:
        try:
            h.update(f"\0{lib}={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"\0{lib}=-".encode())
    for x in extra:
        h.update(b"\0" + x.encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def _private_folder(folder: Path) -> None:
    """Make `folder` (and its parent `temoin/`) 0700, owned by us and not a link."""
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    for f in (folder.parent, folder):
        st = os.lstat(f)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            raise PermissionError(f"{f}: not a folder of this user")
        if st.st_mode & 0o077:
            os.chmod(f, 0o700)


def _key(folder: Path) -> bytes:
    """The folder's HMAC key, made (random, 0600) on first use. A key that others could
    read or write is replaced: every cache made with it is then ignored."""
    path = folder / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            st = os.fstat(fd)
            key = os.read(fd, KEY_BYTES + 1)
        finally:
            os.close(fd)
        if st.st_uid == os.geteuid() and not st.st_mode & 0o077 and len(key) == KEY_BYTES:
            return key
        log.debug("cache key %s is not private to this user: made again", path)
        path.unlink()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".key.")  # 0600
    try:
        os.write(fd, os.urandom(KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # never replaces a key another build just made
    finally:
        os.unlink(tmp)
    return _key(folder)


class Store:
    """One clone's cache folder for this user, and its HMAC key."""

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder = folder
        self._key = key
        self._versions: dict[tuple[str, tuple[str, ...]], str] = {}

    @classmethod
    def open(cls, repo: Path) -> Store | None:
        """The store of `repo`, or None: caches off (`TEMOIN_NO_CACHE`), or no usable
        folder (the build then runs without caches, as slow as a first build)."""
        if disabled():
            return None
        folder = home() / repo_id(repo)
        if inside(folder, repo):  # committed with its key, a clone would trust it (attack18)
            log.warning("cache folder %s is inside the repository %s (XDG_CACHE_HOME): "
                        "not used; set XDG_CACHE_HOME outside it", folder, repo)
            return None
        try:
            _private_folder(folder)
            key = _key(folder)
        except OSError as exc:
            log.debug("cache folder %s unusable (%s): no caches", folder, exc)
            return None
        return cls(folder, key)

    def version(self, spec: Spec, extra: Iterable[str] = ()) -> str:
        extra = tuple(extra)
        found = self._versions.get((spec.name, extra))
        if found is None:
            found = self._versions[(spec.name, extra)] = version(spec, extra)
        return found

    def tag(self, *parts: bytes) -> bytes:
        """HMAC-SHA256 under this folder's key of `parts` (each length-prefixed)."""
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for p in parts:
            mac.update(len(p).to_bytes(8, "big"))
            mac.update(p)
        return mac.digest()

    def file(self, spec: Spec, extra: Iterable[str] = ()) -> CacheFile:
        return CacheFile(self, spec, self.version(spec, extra))

    def entries(self, spec: Spec, suffix: str = "", extra: Iterable[str] = ()) -> CacheFolder:
        return CacheFolder(self, spec, self.version(spec, extra), suffix)


def open_file(repo: Path, spec: Spec, extra: Iterable[str] = ()) -> CacheFile | None:
    """`spec`'s file in `repo`'s store, or None when there is no store."""
    store = Store.open(repo)
    return store.file(spec, extra) if store is not None else None


class CacheFile:
    """One authenticated cache file: a header line (format, name, version, HMAC) and the
    payload. `load` returns the payload only if the HMAC, under this folder's key, covers
    exactly this name, version and payload; `save` writes atomically, 0600."""

    def __init__(self, store: Store, spec: Spec, version: str) -> None:
        self.store, self.spec, self.version = store, spec, version
        self.path = store.folder / spec.name

    def _tag(self, payload: bytes) -> bytes:
        return self.store.tag(FORMAT, self.spec.name.encode(), self.version.encode(),
                              payload)

    def load(self) -> bytes | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            with os.fdopen(fd, "rb") as f:
                if os.fstat(f.fileno()).st_size > self.spec.max_size:
                    log.debug("cache %s: over %d bytes, ignored", self.path, self.spec.max_size)
                    return None
                data = f.read()
        except OSError:
            return None
        head, _, payload = data.partition(b"\n")
        fields = head.split(b" ")
        if len(fields) != 5 or b" ".join(fields[:2]) != FORMAT or \
                fields[2] != self.spec.name.encode():
            log.debug("cache %s: not a cache file, ignored", self.path)
            return None
        if fields[3] != self.version.encode():
            log.debug("cache %s: made by other code, ignored", self.path)
            return None
        try:
            tag = bytes.fromhex(fields[4].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            tag = b""
        if not hmac.compare_digest(tag, self._tag(payload)):
            log.debug("cache %s: not authenticated by this folder's key, ignored", self.path)
            return None
        return payload

    def save(self, payload: bytes) -> None:
        if len(payload) > self.spec.max_size:
            log.debug("cache %s: over %d bytes, not written", self.path, self.spec.max_size)
            return
        head = b" ".join([FORMAT, self.spec.name.encode(), self.version.encode(),
                          self._tag(payload).hex().encode()])
        with contextlib.suppress(OSError):  # no cache next time: the work is done again
            write_atomic(self.path, head + b"\n" + payload, mode=0o600)


class CacheFolder:
    """Many authenticated entries in one folder: `<key><suffix>` holds the bytes as they
    are (a PDF MkDocs can copy), `<key><suffix>.tag` their HMAC with the folder's name, its
    version and the entry's key. An entry whose tag does not match is ignored."""

    def __init__(self, store: Store, spec: Spec, version: str, suffix: str = "") -> None:
        self.store, self.spec, self.version, self.suffix = store, spec, version, suffix
        self.root = store.folder / spec.name

    def path(self, key: str) -> Path:
        return self.root / f"{key}{self.suffix}"

    def _mac(self, key: str) -> Any:
        mac = hmac.new(self.store.tag(FORMAT, self.spec.name.encode(), self.version.encode(),
                                      key.encode("ascii")), digestmod=hashlib.sha256)
        return mac

    def _tag_ok(self, key: str, mac: Any) -> bool:
        try:
            tag = self.path(key).with_name(self.path(key).name + ".tag").read_bytes()
        except OSError:
            return False
        if hmac.compare_digest(tag, mac.digest()):
            return True
        log.debug("cache %s: not authenticated by this folder's key, ignored", self.path(key))
        return False

    def get(self, key: str) -> bytes | None:
        """The entry's bytes if it exists and is authentic, else None."""
        try:
            data = self.path(key).read_bytes()
        except OSError:
            return None
        if len(data) > self.spec.max_size:
            return None
        mac = self._mac(key)
        mac.update(data)
        return data if self._tag_ok(key, mac) else None

    def verified(self, key: str) -> Path | None:
        """The entry's file if it is authentic (read through, not kept in memory). The
        folder is this user's alone (0700): what was checked is what gets copied."""
        mac = self._mac(key)
        try:
            with open(self.path(key), "rb") as f:
                while chunk := f.read(1 << 20):
                    mac.update(chunk)
        except OSError:
            return None
        return self.path(key) if self._tag_ok(key, mac) else None

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.spec.max_size:
            return
        mac = self._mac(key)
        mac.update(data)
        path = self.path(key)
        with contextlib.suppress(OSError):  # a half-written entry fails its tag: ignored
            write_entry(path, data)
            write_entry(path.with_name(path.name + ".tag"), mac.digest())

    def prune(self, keep: Iterable[str]) -> None:
        """Delete every entry not in `keep`."""
        names = {f"{k}{self.suffix}" for k in keep}
        names |= {f"{n}.tag" for n in names}
        with contextlib.suppress(OSError):
            for f in self.root.iterdir():
                if f.name not in names:
                    f.unlink(missing_ok=True)


def write_entry(path: Path, data: bytes) -> None:
    """Write through a temporary file and rename, without fsync: a cache entry lost in a
    crash is made again (thousands of PDFs: an fsync each cost seconds)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


RACY = 2.0  # seconds: a file changed this recently is read again next time
_MISSING = object()


class StatCache:
    """What the build learnt from a file (a sha256, a small text, a value the caller
    worked out), kept by the file's (inode, size, mtime_ns, ctime_ns) as git's index does,
    so that an unchanged file is stat-ed instead of read. The file `spec` names (its
    version: the code that cut the caller's values) is rewritten with this run's entries
    only; without a store every file is read.

    At 20,000 cases a rebuild read ~100,000 small files (case.md, decision statements and
    signatures, private parts) and this VM keeps too little page cache for them: ~130 s of
    cold reads. A stat costs about a tenth of a read.

    Why a stat hit stands for the bytes that were read: the key is taken with `fstat` on the
    open file after reading it, and only recorded when the file's mtime and ctime are more
    than `RACY` seconds in the past. Any later write changes the ctime to the time of that
    write (the kernel sets it; only root can set the clock), so it changes the key; a write
    during or just before the read leaves a recent ctime, and the entry is not recorded
    ("racy git"). A copied or new clone has new inodes and ctimes: every entry misses. The
    entries were recorded by this user (the file is authenticated with this user's key):
    nobody else's stat results are taken.

    Within one run a path is looked up once: later lookups return what the first saw (the
    build works from one snapshot of each file, as when it read each file once)."""

    def __init__(self, repo: Path, spec: Spec, store: Store | None = None) -> None:
        self.root = Path(repo)
        self._prefix = os.path.join(os.fspath(self.root), "")
        store = store or Store.open(self.root)
        self.file = store.file(spec) if store is not None else None
        self.old: dict[str, list[Any]] = {}
        raw = self.file.load() if self.file is not None else None
        with contextlib.suppress(ValueError, TypeError):  # unreadable: every file read again
            data = json.loads(raw) if raw is not None else None
            if isinstance(data, dict):
                self.old = data
        self.new: dict[str, list[Any]] = {}
        self.seen: dict[str, Any] = {}  # this run: path -> value, or None when missing
        self.changed = False

    def _rel(self, path: Path) -> str:
        """The path below the repository (os.path.relpath costs ~10x more: 100,000 calls)."""
        p = os.fspath(path)
        return p[len(self._prefix):] if p.startswith(self._prefix) else os.path.abspath(p)

    @staticmethod
    def _key(st: os.stat_result) -> list[int]:
        return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def _lookup(self, path: Path) -> tuple[str, Any]:
        """(relative path, cached value) ; value _MISSING when the file must be read, None
        when it is not a regular file."""
        rel = self._rel(path)
        if rel in self.seen:
            return rel, self.seen[rel]
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            self.seen[rel] = None
            return rel, None
        if not stat.S_ISREG(st.st_mode):
            self.seen[rel] = None
            return rel, None
        entry = self.old.get(rel)
        if isinstance(entry, list) and len(entry) == 5 and entry[:4] == self._key(st):
            self.new[rel] = entry
            self.seen[rel] = entry[4]
            return rel, entry[4]
        return rel, _MISSING

    def _read(self, path: Path) -> tuple[bytes, list[int] | None]:
        """The file's bytes, and its key if it may be recorded (not changed lately)."""
        with open(path, "rb") as f:
            data = f.read()
            st = os.fstat(f.fileno())
        recent = time.time_ns() - int(RACY * 1e9)
        if max(st.st_mtime_ns, st.st_ctime_ns) >= recent:
            return data, None
        return data, self._key(st)

    def _put(self, rel: str, key: list[int] | None, value: Any) -> None:
        self.seen[rel] = value
        if key is not None:
            self.new[rel] = [*key, value]
            self.changed = True

    def sha256(self, path: Path) -> str | None:
        """The file's sha256 (hex), or None if it is not a regular file."""
        return self.sha256_read(path)[0]

    def sha256_read(self, path: Path) -> tuple[str | None, bytes | None]:
        """(`sha256(path)`, the bytes hashed if it had to read them: no second read)."""
        rel, value = self._lookup(path)
        if value is not _MISSING:
            return (value if value is None or isinstance(value, str) else None), None
        try:
            data, key = self._read(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._put(rel, None, None)
            return None, None
        digest = hashlib.sha256(data).hexdigest()
        self._put(rel, key, digest)
        return digest, data

    def text(self, path: Path) -> bytes | None:
        """A small file's bytes (kept if UTF-8), or None if it is not a regular file."""
        rel, value = self._lookup(path)
        if value is not _MISSING:
            return value.encode("utf-8") if isinstance(value, str) else None
        try:
            data, key = self._read(path)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            self._put(rel, None, None)
            return None
        try:
            self._put(rel, key, data.decode("utf-8"))
        except UnicodeDecodeError:
            self.seen[rel] = _MISSING  # never kept: read again
        return data

    def is_file(self, path: Path) -> bool:
        return self._lookup(path)[1] is not None

    def get(self, path: Path) -> tuple[Any, bool]:
        """(value, True) if `put` stored one for these exact bytes, else (None, False)."""
        value = self._lookup(path)[1]
        return (None, False) if value is _MISSING or value is None else (value, True)

    def read(self, path: Path) -> tuple[bytes, list[int] | None]:
        """Read a file whose value the caller will work out and `put` (OSError as open)."""
        return self._read(path)

    def put(self, path: Path, key: list[int] | None, value: Any) -> None:
        self._put(self._rel(path), key, value)

    def save(self) -> None:
        if self.file is None or not (self.changed or set(self.old) - set(self.new)):
            return
        data = json.dumps(self.new, ensure_ascii=False, separators=(",", ":"))
        self.file.save(data.encode("utf-8"))
