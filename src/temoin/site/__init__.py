"""Page generators: published cases in, pages as data out (engine-neutral).

Every generator is a pure function returning `Page`s and `Asset`s, sorted and deterministic.
Only `site/plugin.py` (with `engine.py` and `preview.py`) knows MkDocs; it injects these
with `File.generated`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, init=False)
class Page:
    """A generated page. `path` is relative to docs_dir, e.g. 'cases/BI-2025-K7QX2M.md'.

    `content` is Markdown (rendered by MkDocs with the site's extensions) when the path ends
    in .md. Generated Markdown is trusted template text: any value that comes from a case
    must pass through `site.text.inline()`/`site.text.narrative()` first.

    It is kept as UTF-8 (`data`): every page of a build is held until MkDocs reads it, and
    one "—" or "→" makes a Python string two bytes a letter (half the memory at 5,000 cases).
    """

    path: str
    data: bytes
    title: str = ""

    def __init__(self, path: str, content: str, title: str = "") -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "data", content.encode("utf-8"))
        object.__setattr__(self, "title", title)

    @classmethod
    def from_bytes(cls, path: str, data: bytes, title: str = "") -> Page:
        """A page already encoded (from a cache): no decoding and encoding again."""
        page = cls.__new__(cls)
        object.__setattr__(page, "path", path)
        object.__setattr__(page, "data", data)
        object.__setattr__(page, "title", title)
        return page

    @property
    def content(self) -> str:
        return self.data.decode("utf-8")


@dataclass(frozen=True, init=False)
class Asset:
    """A static file copied to the site as-is (SVG, CSV, JSON, JS, .asc, PDF).

    A cached PDF is given by its file (`source`): MkDocs copies it to the site instead of
    this process holding ~2,300 PDFs (20,000 cases) until they are written."""

    path: str
    source: Path | None
    _data: bytes

    def __init__(self, path: str, data: bytes = b"", source: Path | None = None) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "_data", data)

    @property
    def data(self) -> bytes:
        return self._data if self.source is None else self.source.read_bytes()
