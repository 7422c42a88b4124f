"""Bulletin pages of earlier builds, by a hash of exactly what each is made from.

A warm build of 20,000 cases spent about half of "generate pages" writing ~2,300 bulletin
pages (documents, tables, HTML) that had not changed since the last build: a late case
changes a handful of bulletins, not a decade of them. `.temoin/cache/bulletin-pages.bin`
keeps each page's bytes, title and PDF cache key under the sha256 of its inputs
(`key`): the records of every case it reads (their whole front matter), its place in the
plan, its editorial texts, the settings, whether it is provisional, its PDF date, and the
source of the Témoin package with its data files and the versions of the libraries that
write it. One file, read in order: thousands of small files are cold reads on a machine
that keeps little page cache.

Format: one JSON line (the index), then the pages back to back. A file that does not
parse is ignored; an entry whose bytes do not match its sha256 is made again. The file
is rewritten only when a build made or dropped a page, with that build's pages only.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import BinaryIO

from temoin.cases import Case

NAME = "bulletin-pages.bin"
FORMAT = 1


def code_digest() -> str:
    """Témoin's source and data files, Python, the libraries and fonts a page or its PDF
    depends on."""
    h = hashlib.sha256(sys.version.encode())
    for lib in ("markdown", "nh3", "fpdf2", "PyYAML"):
        try:
            h.update(f"\0{lib}={metadata.version(lib)}".encode())
        except metadata.PackageNotFoundError:
            h.update(f"\0{lib}=-".encode())
    from temoin.site.bulletins.pdf import font_stamps

    for stamp in font_stamps():  # as in the PDF cache's key
        h.update(f"\0{stamp}".encode())
    root = Path(__file__).resolve().parents[2]  # the temoin package
    for f in sorted([*root.rglob("*.py"), *(root / "data").rglob("*.yaml")]):
        h.update(b"\0" + str(f.relative_to(root)).encode() + b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()


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

    def __init__(self, folder: Path) -> None:
        self.file = folder / NAME
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
            head = json.loads(fh.readline())
            if head.get("format") != FORMAT:
                raise ValueError("format")
            for k, off, length, digest, title, pdf_key in head["entries"]:
                if not all(isinstance(x, str) for x in (k, digest, title, pdf_key)) or \
                        not all(isinstance(x, int) for x in (off, length)):
                    raise ValueError("entry")
                self._index[k] = (off, length, digest, title, pdf_key)
            self._start = fh.tell()
            self._fh = fh
        except (ValueError, TypeError, KeyError, AttributeError):
            fh.close()
            self._index = {}

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
        head = json.dumps({"format": FORMAT, "entries": entries}, ensure_ascii=True)
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_suffix(f".{os.getpid()}.tmp")
            with open(tmp, "wb") as out:
                out.write(head.encode("ascii") + b"\n")
                out.writelines(blobs)
            tmp.replace(self.file)
        except OSError:
            pass  # a read-only repo only loses the cache
