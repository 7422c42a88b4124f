"""Page generators: published cases in, pages as data out (engine-neutral).

Every generator is a pure function returning `Page`s and `Asset`s, sorted and deterministic.
Only `site/plugin.py` knows MkDocs; it injects these with `File.generated`.
"""

from __future__ import annotations

from dataclasses import dataclass


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

    @property
    def content(self) -> str:
        return self.data.decode("utf-8")


@dataclass(frozen=True)
class Asset:
    """A static file copied to the site as-is (SVG, CSV, JSON, JS, .asc, PDF)."""

    path: str
    data: bytes
