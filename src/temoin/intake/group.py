"""A group of drafted submissions written at once (`temoin ingest`'s group commit).

Each step a submission's files go through (see `intake.ingest`) is taken for the whole
group before the next begins, so the group shares each round of fsyncs: its temporaries
while its `received` entries' fsync runs, then one round for the evidence files and
private parts put in place, one for the case.md files. On an ext4-like journal a round is
one commit: the renames go first, the first folder's fsync commits them all.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temoin import cases, files
from temoin.files import fsync_dir, make_dirs, stage
from temoin.intake.case_id import clean_stale

if TYPE_CHECKING:
    from temoin.intake.ingest import _Run

GROUP = 8  # files whose entries and case files share their fsyncs (one decryption chunk)


@dataclass
class Draft:
    """A file decided and sealed on its turn, written with its group (`_Run.flush`)."""

    path: Path
    sha: str
    cid: str
    inside: bool
    due: tuple[str, int, str] | None  # its `received` entry, when ingest logs it
    parts: list[tuple[Path, bytes]]  # evidence ciphertexts, then the private part's
    case: cases.Case


def write(run: _Run, drafts: list[Draft], gate: list[Future[None]]) -> Future[None]:
    """Write the drafts' files in the order a re-run relies on (see `_ours`): every
    temporary now (ciphertext only; a re-run removes any a crash left, `clean_stale`);
    nothing put in place before `gate` (the `received` fsync) is done; then every
    evidence file and private part in place and their folders fsync'd; then every
    case.md; new folders' own entries durable too. The future is done when all is."""
    parts: list[Future[Path]] = []
    dirs: dict[Path, None] = {}
    for d in drafts:
        folder = cases.case_dir(run.repo, d.cid)
        clean_stale(folder)
        evidence = len(d.parts) > 1
        dirs.update(dict.fromkeys(make_dirs(folder / "evidence" if evidence else folder)))
        parts += [run.io.submit(stage, path, ct) for path, ct in d.parts]
    gate = [*gate, *(run.io.submit(fsync_dir, folder) for folder in dirs)]
    mds = [run.io.submit(_stage_case, run, d.case) for d in drafts]
    moves = [path for d in drafts for path, _ in d.parts]
    return run.pool.submit(_place, gate, parts, moves, mds)


def _stage_case(run: _Run, case: cases.Case) -> tuple[Path, Path]:
    """A draft's case.md sealed and staged: (temporary, where it goes)."""
    target, data = cases.encoded(run.repo, case, run.vault)
    return stage(target, data), target


def _place(gate: list[Future[None]], parts: list[Future[Path]], moves: list[Path],
           mds: list[Future[tuple[Path, Path]]]) -> None:
    """Put a group's staged files in place (`write`): once `gate` is done, the evidence
    and private parts (`parts`, staged for `moves`), their folders fsync'd, then the
    case.md files (`mds`). A failure puts nothing more in place and removes what was
    staged and not placed (all of them done first), then raises."""
    try:
        for f in gate:
            f.result()
        files.place([(f.result(), path) for f, path in zip(parts, moves, strict=True)])
        placed = [f.result() for f in mds]
        files.place(placed)
        for _, target in placed:  # the other form of case.md, as `cases.save` removes it
            target.with_name(cases.PUBLIC).unlink(missing_ok=True)
    except BaseException:
        wait(gate)
        wait(parts)
        wait(mds)
        staged = [f.result() for f in parts if not f.cancelled() and f.exception() is None]
        staged += [f.result()[0] for f in mds if not f.cancelled() and f.exception() is None]
        for tmp in staged:  # gone already if it was put in place
            tmp.unlink(missing_ok=True)
        raise


@contextmanager
def collector() -> Iterator[None]:
    """Python's cycle collector for the run: what is alive when it starts (modules, the
    configuration, keys) is frozen, never walked again, and a young collection waits for
    more allocations. A submission's parsing and sealing allocate many objects, and the
    collector ran ~240 times for 1,000 submissions, its older generations holding every
    module's objects (~0.35 s, issue 18);
    the cycles a submission leaves are still collected, within a few submissions."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
