"""Submissions read, decrypted and parsed before their turn (`temoin ingest`).

While one submission is written, the next ones are prepared on the run's pool: read,
envelope parsed, decrypted, parsed, nothing written and nothing decided (their turn, in
inbox order, decides; a file changed since is read again). They go in chunks of up to
CHUNK files: the chunk's first ciphertexts are decrypted by one gpg process
(`keys.batch`), and any the batch cannot vouch for is decrypted alone as before. While
chunk k is written, chunk k+1 is prepared: at most 2 chunks are held in memory, each within
CHUNK_BYTES of submissions (a larger file is a chunk of its own).
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.errors import IntakeError
from temoin.intake.decrypted import Opened
from temoin.intake.inbox import read_head
from temoin.keys.batch import decrypt_batch

if TYPE_CHECKING:
    from temoin.intake.ingest import _Run

CHUNK = 8  # submissions a gpg process decrypts
CHUNK_BYTES = 4 << 20  # submissions' bytes in a chunk (and each plaintext's bound in it)


@dataclass
class Ahead:
    """A file read, decrypted and parsed before its turn. `opened` is what `_Run.open`
    returned or raised (raised again on its turn), None when it was not worth trying."""

    key: tuple[int, ...]
    sha: str
    raw: bytes
    size: int
    opened: Opened | Exception | None


def chunks(todo: list[Path]) -> list[range]:
    """`todo`'s indexes in chunks: up to CHUNK files within CHUNK_BYTES (by their size now;
    a file that cannot be sized or is larger goes alone)."""
    out: list[range] = []
    start, total = 0, 0
    for i, path in enumerate(todo):
        try:
            size = os.lstat(path).st_size
        except OSError:
            size = CHUNK_BYTES + 1
        if i > start and (i - start >= CHUNK or total + size > CHUNK_BYTES):
            out.append(range(start, i))
            start, total = i, 0
        total += size
    if start < len(todo):
        out.append(range(start, len(todo)))
    return out


def prepare_many(run: _Run, paths: list[Path]) -> list[Ahead | None]:
    """Each file read, decrypted and parsed (see the module); None where it cannot be read
    (its turn says why)."""
    limit = run.cfg.max_submission_bytes
    heads: list[tuple[Path, str, bytes, int, tuple[int, ...]] | None] = []
    for path in paths:
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                heads.append(None)  # never opened, not even a FIFO: its turn refuses it
                continue
            sha, raw, size, key = read_head(path, limit)
        except (IntakeError, OSError):
            heads.append(None)
            continue
        heads.append((path, sha, raw, size, key))
    envs: list[Any] = [None] * len(paths)
    for n, head in enumerate(heads):
        if head is not None and head[3] <= limit and head[1] not in run.index.ingested:
            try:
                envs[n] = run.envelope(head[2])
            except Exception as exc:  # noqa: BLE001 - raised on its turn, as if met then
                envs[n] = exc
    todo = [n for n, e in enumerate(envs) if e is not None and not isinstance(e, Exception)]
    budget = max(min(run.cfg.max_plaintext_bytes, CHUNK_BYTES), 1)
    try:
        firsts = decrypt_batch(run.keyring, [envs[n].ciphertexts[0] for n in todo], budget)
    except Exception:  # noqa: BLE001 - a full tmpfs, no gpg...: each is decrypted alone
        firsts = [None] * len(todo)
    first = dict(zip(todo, firsts, strict=True))
    out: list[Ahead | None] = []
    for n, head in enumerate(heads):
        if head is None:
            out.append(None)
            continue
        path, sha, raw, size, key = head
        opened: Opened | Exception | None = envs[n] if isinstance(envs[n], Exception) else None
        if n in first:
            try:
                opened = run.open(path, raw, envs[n], first[n])
            except Exception as exc:  # noqa: BLE001 - raised on its turn, as if met then
                opened = exc
        out.append(Ahead(key, sha, raw, size, opened))
    return out


class Prefetch:
    """The chunks of `todo` prepared on `run`'s pool, one ahead of the one being written
    (`ahead` 0: none, every file is read and decrypted on its turn)."""

    def __init__(self, run: _Run, todo: list[Path], ahead: int) -> None:
        self.run, self.todo, self.ahead = run, todo, ahead
        self.chunks = chunks(todo) if ahead else []
        self.of = {i: c for c, r in enumerate(self.chunks) for i in r}
        self.pending: dict[int, Future[list[Ahead | None]]] = {}

    def _submit(self, c: int) -> None:
        if c < len(self.chunks) and c not in self.pending:
            r = self.chunks[c]
            self.pending[c] = self.run.pool.submit(prepare_many, self.run,
                                                   [self.todo[i] for i in r])

    def get(self, i: int) -> Ahead | None:
        """What was prepared of file `i`, if anything (the chunk after is started)."""
        c = self.of.get(i)
        if c is None:
            return None
        self._submit(c)
        self._submit(c + 1)
        found = self.pending[c].result()[i - self.chunks[c].start]
        if i == self.chunks[c].stop - 1:
            del self.pending[c]  # its last file: the chunk is no longer held
        return found

    def cancel(self) -> None:
        for f in self.pending.values():
            f.cancel()
