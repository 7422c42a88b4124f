"""inbox/ as `temoin fetch` fills it: a message streamed to disk and recorded in custody,
a message refused and left at its source, and what each mailbox already gave."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temoin import custody, files
from temoin.config import Config
from temoin.errors import TemoinError
from temoin.intake.imap import FetchError

INBOX = "inbox"
STATE = ".fetch-state.json"
LOCK = ".fetch.lock"
PART_PREFIX, PART_SUFFIX = ".fetch-", ".part"
FETCHED = ".fetched"  # sha256 of every message this machine fetched, one a line
# Records of messages left at their source, in inbox/quarantine/ (only a .reason file):
OVERSIZE = "oversize-"  # declared too large: looked at again each run (the limit may rise)
REFUSED = "refused-"    # sent more than the limit or broke the protocol: skipped until the
                        # file is deleted


class TooLarge(FetchError):
    """More bytes arrived than max_submission_bytes allows; `size` is how many were read."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        super().__init__(f"more than {limit} bytes (max_submission_bytes) sent")


@dataclass
class Summary:
    """What one fetch did. `new` holds each new message's {submission, file, size};
    `known` counts messages fetched before (by state or by custody); `refused` holds each
    message refused this run {file (its .reason), size, reason}, `still_refused` counts
    those refused by an earlier run and still at their source."""

    source: str
    channel: str
    new: list[dict[str, Any]] = field(default_factory=list)
    known: int = 0
    moved: int = 0
    move_to: str = ""
    refused: list[dict[str, Any]] = field(default_factory=list)
    still_refused: int = 0

    def line(self) -> str:
        """The one-line report: `fetched N new, M already known` (+ refusals, moves)."""
        out = f"fetched {len(self.new)} new, {self.known} already known"
        if self.refused or self.still_refused:
            out += (f", {len(self.refused) + self.still_refused} refused and left at the source"
                    f" (read {INBOX}/quarantine/*.reason)")
        if self.move_to:
            out += f", moved {self.moved} to {self.move_to}"
        return out

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "channel": self.channel, "new": self.new,
                "known": self.known, "refused": self.refused,
                "still_refused": self.still_refused, "moved": self.moved}


class Inbox:
    """inbox/ of one repository: where messages land and what custody already knows."""

    def __init__(self, cfg: Config) -> None:
        self.repo = cfg.repo
        self.root = cfg.repo / INBOX
        self.quarantine = self.root / "quarantine"
        self.limit = cfg.max_submission_bytes
        for folder in (self.root, self.quarantine):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # What was fetched before: custody is sealed to the editors (issue 16) and this side
        # holds no editor key, so fetch keeps its own list in inbox/ (git-ignored, beside
        # the messages themselves), plus any plaintext entry of a log not yet migrated.
        self.fetched = self.root / FETCHED
        try:
            self.known = {str(e["submission"]) for e in custody.lines(self.repo)
                          if e.get("submission")}
        except ValueError as exc:
            raise TemoinError(f"{custody.LOG}: unreadable ({exc}); run `temoin check`") from exc
        if self.fetched.exists():
            self.known |= set(self.fetched.read_text(encoding="ascii").split())

    def clean_parts(self) -> None:
        """Drop partial downloads a killed run left behind (never recorded, so re-fetched)."""
        for part in self.root.glob(f"{PART_PREFIX}*{PART_SUFFIX}"):
            part.unlink(missing_ok=True)

    def save(self, chunks: Iterable[bytes], channel: str, summary: Summary) -> str | None:
        """Store one message streamed as `chunks`; record it in custody if new.

        Returns its sha256, or None when `chunks` yields nothing (the message vanished).
        Raises TooLarge, having written at most the limit and kept nothing, as soon as
        `chunks` goes over max_submission_bytes (the rest is never read).
        """
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=PART_PREFIX, suffix=PART_SUFFIX)
        digest, size, seen = hashlib.sha256(), 0, False
        try:
            with os.fdopen(fd, "wb") as f:  # mkstemp: mode 0600
                for chunk in chunks:
                    seen = True
                    size += len(chunk)
                    if size > self.limit:
                        raise TooLarge(size, self.limit)
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            sha = digest.hexdigest()
            if not seen or sha in self.known:
                Path(tmp).unlink()
                if seen:
                    summary.known += 1
                return sha if seen else None
            name = f"{sha}.eml"
            where = next((d / name for d in (self.root, self.quarantine, self.root / "processed")
                          if (d / name).exists()), None)
            if where is not None:
                Path(tmp).unlink()  # on disk from a run stopped before custody: log it now
            else:
                where = self.root / name
                os.replace(tmp, where)
                files.fsync_dir(self.root)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        custody.append(self.repo, "received", submission=sha, channel=channel, size=size)
        with self.fetched.open("a", encoding="ascii") as f:
            f.write(sha + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.known.add(sha)
        summary.new.append({"submission": sha, "file": str(where.relative_to(self.repo)),
                            "size": size})
        return sha

    # -- messages left at their source ----------------------------------------------------
    def record(self, source: str) -> str:
        """The record name (without prefix) of a message at `source`: a hash, so the
        quarantine folder names no server, folder or UID."""
        return hashlib.sha256(source.encode()).hexdigest()[:32] + ".reason"

    def blocked(self, source: str) -> bool:
        """Refused by an earlier run for what it sent: skipped until the record is deleted."""
        return (self.quarantine / (REFUSED + self.record(source))).exists()

    def refuse(self, source: str, channel: str, size: int, why: str, summary: Summary, *,
               block: bool, where: str) -> None:
        """Record that the message at `source` was refused and left there: custody (once),
        then a `.reason` file in quarantine. `block`: skip it in later runs."""
        name = (REFUSED if block else OVERSIZE) + self.record(source)
        path = self.quarantine / name
        if path.exists():
            summary.still_refused += 1
            return
        # Custody first: a crash before the record repeats the entry, never loses it.
        custody.append(self.repo, "refused", channel=channel, size=size, reason=why)
        after = ("delete this file to let `temoin fetch` try it again" if block else
                 "raise max_submission_bytes or ask the source to send less; `temoin fetch` "
                 "looks at it again each run")
        files.write_atomic(path, f"refused, not downloaded: {why}; the message stays at "
                           f"{where}; {after}\n".encode(), mode=0o600)
        summary.refused.append({"file": str(path.relative_to(self.repo)), "size": size,
                                "reason": why})

    def accepted(self, source: str) -> None:
        """The message at `source` was saved: drop an old 'declared too large' record."""
        (self.quarantine / (OVERSIZE + self.record(source))).unlink(missing_ok=True)

    # -- per-mailbox memory ------------------------------------------------------------------
    def load_state(self) -> dict[str, Any]:
        """inbox/.fetch-state.json; an unreadable one is dropped (a re-scan is harmless)."""
        try:
            data = json.loads((self.root / STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        sources = data.get("sources") if isinstance(data, dict) else None
        return sources if isinstance(sources, dict) else {}

    def save_state(self, sources: Mapping[str, Any]) -> None:
        body = json.dumps({"version": 1, "sources": sources}, sort_keys=True, indent=1)
        files.write_atomic(self.root / STATE, body.encode() + b"\n", mode=0o600)
