"""Progress of work that takes more than a few seconds (a build's phases, an ingest of many
files, the preview's first build), on stderr:

* on a terminal, a bar for a phase that knows how many steps it has (click's progress bar)
  and a "name … done in 3.2 s" line for one that does not;
* elsewhere (a log, CI, a pipe), one line a phase when it starts: `temoin: gates`;
* nothing at all in `--json` mode or for library callers (`Progress.off()`).

A progress line carries a phase name and counts, never a value from a case or a
submission (no title, no file name, no plaintext): logs are kept and copied.

click's bar rather than `rich`: it is already a dependency, draws one line, and the
offline bundle (issue 17) should not grow for a cosmetic part.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import click


class Phase:
    """One phase; `advance()` after each of its steps (when it has a `total`), `end()`
    once (the `Progress.phase` context manager does both ends)."""

    def __init__(self, progress: Progress, name: str, total: int | None, unit: str) -> None:
        self.progress, self.name, self.total, self.unit = progress, name, total, unit
        self.done = 0
        self._bar: Any = None
        self._start = time.perf_counter()
        p = progress
        if p.mode == "lines":
            count = f" ({total} {unit})" if total else ""
            p.write(f"temoin: {name}{count}\n")
        elif p.mode == "tty" and total:
            self._bar = click.progressbar(length=total, label=name, file=p.stream,
                                          show_eta=True, show_pos=True)
            self._bar.__enter__()
        elif p.mode == "tty":
            p.write(f"{name} …")

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
        elif self.progress.mode == "tty":
            took = time.perf_counter() - self._start
            self.progress.write(f"\r{self.name}: done in {took:.1f} s\n")


class Progress:
    """Where and how progress is shown: `tty`, `lines` or `off`."""

    def __init__(self, mode: str, stream: TextIO | None = None) -> None:
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr

    @classmethod
    def off(cls) -> Progress:
        return cls("off")

    @classmethod
    def for_cli(cls, quiet: bool = False) -> Progress:
        """stderr: a bar on a terminal, lines elsewhere, nothing if `quiet` (--json)."""
        if quiet:
            return cls("off")
        return cls("tty" if sys.stderr.isatty() else "lines")

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def begin(self, name: str, total: int | None = None, unit: str = "steps") -> Phase:
        """Start a phase named `name` (never data) of `total` steps if known; for a phase
        that starts and ends in different callbacks (MkDocs events)."""
        return Phase(self, name, total, unit)

    @contextmanager
    def phase(self, name: str, total: int | None = None, unit: str = "steps"
              ) -> Iterator[Phase]:
        ph = self.begin(name, total, unit)
        try:
            yield ph
        finally:
            ph.end()
