"""Bulletin pages of earlier builds, by a hash of exactly what each is made from.

A warm build of 20,000 cases spent about half of "generate pages" writing ~2,300 bulletin
pages (documents, tables, HTML) that had not changed since the last build: a late case
changes a handful of bulletins, not a decade of them. `BULLETIN_PAGES` (in this user's
cache folder, `temoin.cache`) keeps each page's bytes, title and PDF cache key under the
sha256 of its inputs (`key`): the records of every case it reads (their whole front
matter), its place in the plan, its editorial texts, the settings, whether it is
provisional, its PDF date, and the source of the Témoin package with its data files and
the versions of the libraries that write it. One file, read in order: thousands of small
files are cold reads on a machine that keeps little page cache.

Format: a header line (format, name, version, HMAC of the index under the cache folder's
key), one JSON line (the index, holding each page's sha256), then the pages back to back.
A file that does not parse or whose index this folder's key did not sign is ignored; an
entry whose bytes do not match its sha256 is made again. The file is rewritten only when
a build made or dropped a page, with that build's pages only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import pickle
from collections.abc import Iterable
from typing import BinaryIO

from temoin import cache as cache_mod
from temoin.cases import Case
from temoin.site.bulletins.fonts import font_stamps

log = logging.getLogger("temoin.cache")
BULLETIN_PAGES = cache_mod.Spec(
    "bulletin-pages.bin", ("temoin",), ("markdown", "nh3", "fpdf2", "PyYAML"),
    "each bulletin page's bytes, title and PDF key, by a hash of all its inputs")


def code_digest(store: cache_mod.Store) -> str:
    """Témoin's source and data files, Python, the libraries and fonts a page or its PDF
    depends on: the page cache's version."""
    return store.version(BULLETIN_PAGES, font_stamps())


def cases_digest(cases: Iterable[Case]) -> bytes:
    """The whole front matter of `cases`, in order (every value a bulletin may read).

    pickle (C) instead of repr (twice the time): equal bytes load back as equal values, so
    two different front matters never share a key; at worst equal ones do not."""
    h = hashlib.sha256()
    for c in cases:
        data = pickle.dumps(c.meta, 5)
        h.update(len(data).to_bytes(8, "big") + data)
    return h.digest()


def key(code: str, parts: Iterable[object], digests: Iterable[bytes]) -> str:
    h = hashlib.sha256(code.encode())
    for p in parts:
        data = repr(p).encode("utf-8")
        h.update(len(data).to_bytes(8, "big") + data)
    for d in digests:
        h.update(d)
    return h.hexdigest()


class PageCache:
    """Read once at the start of `site_files`, written at its end if anything changed."""

    def __init__(self, store: cache_mod.Store) -> None:
        self.store = store
        self.version = code_digest(store)
        self.file = store.folder / BULLETIN_PAGES.name
        self._index: dict[str, tuple[int, int, str, str, str]] = {}
        self._start = 0
        self._fh: BinaryIO | None = None
        self.new: dict[str, tuple[bytes, str, str]] = {}   # key -> (page, title, PDF key)
        self.used: dict[str, tuple[bytes, str, str]] = {}
        try:
            fh = open(self.file, "rb")  # noqa: SIM115 (closed by `close`)
        except OSError:
            return
        try:
            header = fh.readline(1024)
            head = json.loads(self._check(fh.readline(), header))
            for k, off, length, digest, title, pdf_key in head["entries"]:
                if not all(isinstance(x, str) for x in (k, digest, title, pdf_key)) or \
                        not all(isinstance(x, int) for x in (off, length)):
                    raise ValueError("entry")
                self._index[k] = (off, length, digest, title, pdf_key)
            self._start = fh.tell()
            self._fh = fh
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.debug("cache %s: %s, ignored", self.file, exc)
            fh.close()
            self._index = {}

    def _tag(self, index: bytes) -> bytes:
        return self.store.tag(cache_mod.FORMAT, BULLETIN_PAGES.name.encode(),
                              self.version.encode(), index)

    def _check(self, index: bytes, header: bytes) -> bytes:
        """`index` if `header` names this cache and version and authenticates it."""
        fields = header.rstrip(b"\n").split(b" ")
        if len(fields) != 5 or b" ".join(fields[:3]) != b" ".join(
                [cache_mod.FORMAT, BULLETIN_PAGES.name.encode()]):
            raise ValueError("not a page cache")
        if fields[3] != self.version.encode():
            raise ValueError("made by other code")
        with contextlib.suppress(ValueError):
            if hmac.compare_digest(bytes.fromhex(fields[4].decode("ascii")), self._tag(index)):
                return index
        raise ValueError("not authenticated by this folder's key")

    def get(self, k: str) -> tuple[bytes, str, str] | None:
        """(page bytes, title, PDF cache key) stored under `k`, if intact."""
        entry = self._index.get(k)
        if entry is None or self._fh is None:
            return None
        off, length, digest, title, pdf_key = entry
        self._fh.seek(self._start + off)
        data = self._fh.read(length)
        if len(data) != length or hashlib.sha256(data).hexdigest() != digest:
            return None
        self.used[k] = (data, title, pdf_key)
        return self.used[k]

    def put(self, k: str, data: bytes, title: str, pdf_key: str) -> None:
        self.new[k] = (data, title, pdf_key)

    def close(self, write: bool = True) -> None:
        """Rewrite the file with this build's pages if any was made or dropped."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if not write or (not self.new and len(self.used) == len(self._index)):
            return
        entries: list[list[object]] = []
        blobs, off = [], 0
        for k, (data, title, pdf_key) in {**self.used, **self.new}.items():
            entries.append([k, off, len(data), hashlib.sha256(data).hexdigest(), title,
                            pdf_key])
            blobs.append(data)
            off += len(data)
        index = json.dumps({"entries": entries}, ensure_ascii=True).encode("ascii") + b"\n"
        header = b" ".join([cache_mod.FORMAT, BULLETIN_PAGES.name.encode(),
                            self.version.encode(), self._tag(index).hex().encode()])
        with contextlib.suppress(OSError):  # an unwritable folder only loses the cache
            cache_mod.write_entry(self.file, b"".join([header, b"\n", index, *blobs]))
