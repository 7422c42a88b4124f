"""One format for every signed editorial decision (issue 16: only signatures make things public).

A decision is a small canonical-JSON statement with a detached OpenPGP signature beside it:

    {"format": "temoin-decision/1", "kind": "publish", "case": "BI-2025-K7QX2M",
     "content_sha256": "…", "editor": "<primary fpr>", "date": "2025-10-05",
     "payload": {…}}

- `kind` says what is decided: `verify` (payload `level`), `approve`, `risk-review`,
  `publish`, `withdraw` (payload: the public erratum reason), `urgent` (payload `urgent`),
  `interventions` (payload: the public summaries shown), and, for other work built on this
  format, `consent`, `dismissal` or any other kind: the module does not restrict kinds.
- `content_sha256` names the content the decision covers (for a case: `curation.content_hash`;
  for something else, the sha256 of the bytes decided about).
- `case` is the case id, or "" for a decision about the repository as a whole.
- Several decisions of one kind about one case are told apart by a `name`
  (`review/dismissal--<name>.json`).

Statements live in `cases/<ID>/review/<kind>[--<name>].json` (+ `.json.asc`); repository-wide
ones in `trust/decisions/`. Whether a statement counts is decided by `check`: a good signature
by a key of the trust root's roster (signed before that key's revocation or expiry), naming
that key as its editor, about this case and the expected content.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "temoin-decision/1"
FOLDER = "review"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

Verifier = Callable[[bytes, bytes], str | None]  # (data, signature) -> signer fpr or None


@dataclass(frozen=True)
class Decision:
    """A parsed statement (not yet known to be good: see `check`)."""

    kind: str
    case: str
    content_sha256: str
    editor: str
    date: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.date[:10])
        except ValueError:
            return None


def statement(kind: str, case_id: str, content_sha256: str, editor: str, day: dt.date,
              payload: dict[str, Any] | None = None) -> bytes:
    """The canonical bytes of one decision (sorted keys, UTF-8, one trailing newline)."""
    doc = {"format": FORMAT, "kind": kind, "case": case_id, "content_sha256": content_sha256,
           "editor": editor, "date": day.isoformat(), "payload": payload or {}}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1,
                      default=str).encode("utf-8") + b"\n"


def parse(data: bytes) -> Decision | None:
    """The decision in `data`, or None when it is not one. Statements written before this
    format (`"decision": "verify"`, extra fields at the top level) read the same way."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    kind = doc.get("kind", doc.get("decision"))
    payload = doc.get("payload")
    if payload is None:  # the first format: extra fields beside the others
        payload = {k: v for k, v in doc.items() if k not in (
            "case", "decision", "editor", "date", "content_sha256")}
    if not isinstance(kind, str) or not isinstance(payload, dict):
        return None
    return Decision(kind, str(doc.get("case") or ""), str(doc.get("content_sha256") or ""),
                    str(doc.get("editor") or ""), str(doc.get("date") or ""), payload)


def paths(folder: Path, kind: str, name: str | None = None) -> tuple[Path, Path]:
    """(statement, signature) of a decision in `folder` (a case's `review/`)."""
    if name is not None and not _NAME.match(name):
        raise ValueError(f"decision name {name!r}: expected [a-z0-9_.-], 64 at most")
    base = Path(folder) / (f"{kind}--{name}.json" if name else f"{kind}.json")
    return base, base.with_name(base.name + ".asc")


def record(folder: Path, kind: str, case_id: str, content_sha256: str, editor: str,
           keyring: Any, day: dt.date, payload: dict[str, Any] | None = None,
           name: str | None = None) -> Path:
    """Sign a decision as `editor` and store it (statement and signature) in `folder`."""
    from temoin.files import write_atomic

    data = statement(kind, case_id, content_sha256, editor, day, payload)
    signature = keyring.sign_detached(data, editor)
    data_path, sig_path = paths(folder, kind, name)
    write_atomic(data_path, data)
    write_atomic(sig_path, signature)
    return data_path


DONE = {"verify": "verified", "approve": "approved", "risk-review": "risk-reviewed",
        "publish": "published", "withdraw": "withdrawn", "urgent": "flagged urgent",
        "interventions": "signed (interventions)"}


def missing(kind: str, where: str, redo: str) -> str:
    """The problem of a decision that is not there."""
    what = "no risk review recorded: " if kind == "risk-review" else ""
    return f"{where}: {what}no signed {kind} decision (run {redo})"


def judge(data: bytes, signer: str | None, kind: str, case_id: str, where: str,
          content_sha256: str | None, roster: Iterable[str],
          redo: str) -> tuple[Decision | None, list[str]]:
    """Whether a statement whose signature `signer` made (None: no good signature) counts:
    (the decision, []) when it does, else (the decision or None, problems). `content_sha256`
    None accepts any content (a withdrawal stays a withdrawal). `redo`: the command to run."""
    d = parse(data)
    if d is None:
        return None, [f"{where}: not a decision statement"]
    problems = []
    if d.case != case_id or d.kind != kind:
        problems.append(f"{where}: statement is about another case or decision")
    if content_sha256 is not None and d.content_sha256 != content_sha256:
        problems.append(f"{where}: the case changed since it was {DONE.get(kind, kind)}: "
                        f"run {redo} again")
    if signer is None:
        problems.append(f"{where}: signature does not verify (or was made after its key's "
                        "revocation or expiry, or is dated in the future: the signer's clock?)")
    elif signer not in set(roster):
        problems.append(f"{where}: signed by {signer}, a key outside the signed trust root's "
                        "roster of editors")
    elif signer != d.editor:
        problems.append(f"{where}: signed by {signer} but claims editor {d.editor}")
    return d, problems


def check(folder: Path, kind: str, case_id: str, content_sha256: str | None,
          roster: Iterable[str], verify: Verifier, where: str, redo: str,
          name: str | None = None) -> tuple[Decision | None, list[str]]:
    """Read and judge one stored decision (see `judge`); a missing one is a problem."""
    data_path, sig_path = paths(folder, kind, name)
    if not (data_path.is_file() and sig_path.is_file()):
        return None, [missing(kind, where, redo)]
    data = data_path.read_bytes()
    return judge(data, verify(data, sig_path.read_bytes()), kind, case_id, where,
                 content_sha256, roster, redo)


def present(folder: Path, kind: str, name: str | None = None) -> bool:
    data_path, sig_path = paths(folder, kind, name)
    return data_path.is_file() or sig_path.is_file()
