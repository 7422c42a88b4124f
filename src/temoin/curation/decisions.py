"""One format for every signed editorial decision (issue 16: only signatures make things public).

A decision is a small canonical-JSON statement with a detached OpenPGP signature beside it:

    {"format": "temoin-decision/2", "kind": "publish", "case": "BI-2025-K7QX2M",
     "content_sha256": "…", "editor": "<primary fpr>", "date": "2025-10-05",
     "seq": 7, "heads": {"verify": "<sha256>", "approve": "<sha256>", …},
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

Statements live in `cases/<ID>/review/<kind>[--<name>].json` (+ `.json.asc`), one file a
"slot" (`kind` or `kind--name`); repository-wide ones in `trust/decisions/`. Whether a
statement counts is decided by `check`: a good signature by a key of the trust root's roster
(signed before that key's revocation or expiry), naming that key as its editor, about this
case and the expected content — and the current one of its slot.

**Replay** (issue 16). Every older statement is still signed, in Git history: restored, an old
`urgent: true`, a broader consent or a publication would count again. So decisions of a case
form a chain (format 2): `seq` numbers them (the case's newest + 1) and `heads` names the
sha256 of every statement the case held when it was signed, its own slot's predecessor
included. `evaluate` takes the newest GOOD statements (signed by the roster: a forged one
cannot vouch for anything) and holds as current only what they name, plus themselves: a
restored older statement, or one made beside the chain, is not current and does not count
(`Chain.stale`), and `temoin check` reports it. What the repository alone cannot show — its
newest decisions deleted, the case rolled back whole to an earlier state — is caught by each
machine's memory of the newest decision it has seen (`curation.heads`). Statements of
format 1 (no `seq`) count as before while a case has no format-2 statement; once one names
them they count only as named (`temoin migrate` chains every case).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temoin.cases import review as stored

FORMAT = "temoin-decision/2"
FORMAT_1 = "temoin-decision/1"
FOLDER = "review"
CHAIN = "chain"  # a decision that decides nothing: it names the case's current statements
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")

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
    seq: int = 0                # 0: format 1, not chained
    heads: dict[str, str] = field(default_factory=dict)
    root: str = ""              # the trust root it was made under ("": made before roots)

    @property
    def day(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.date[:10])
        except ValueError:
            return None


def statement(kind: str, case_id: str, content_sha256: str, editor: str, day: dt.date,
              payload: dict[str, Any] | None = None, seq: int = 1,
              heads: dict[str, str] | None = None, root: str | None = None) -> bytes:
    """The canonical bytes of one decision (sorted keys, UTF-8, one trailing newline):
    number `seq` of its case's chain, naming the statements `heads` (slot -> sha256), made
    under the trust root `root` (the sha256 of the repository's trust/0000.json)."""
    doc = {"format": FORMAT, "kind": kind, "case": case_id, "content_sha256": content_sha256,
           "editor": editor, "date": day.isoformat(), "payload": payload or {},
           "seq": seq, "heads": dict(sorted((heads or {}).items())),
           **({"root": root} if root else {})}
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
    seq: Any = 0
    heads: Any = {}
    root = doc.get("root", "")
    if not (root == "" or isinstance(root, str) and _SHA.match(root)):
        return None
    if doc.get("format") == FORMAT:
        seq, heads = doc.get("seq"), doc.get("heads")
        if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 1
                and isinstance(heads, dict) and all(
                    isinstance(k, str) and isinstance(v, str) and _SHA.match(v)
                    for k, v in heads.items())):
            return None
    return Decision(kind, str(doc.get("case") or ""), str(doc.get("content_sha256") or ""),
                    str(doc.get("editor") or ""), str(doc.get("date") or ""), payload,
                    int(seq), {str(k): str(v) for k, v in heads.items()}, root)


def root_of(folder: Path) -> str | None:
    """The trust root of the repository whose case `review/` folder is `folder`: the sha256
    of its trust/0000.json (what every machine pins), or None without one. Decisions bind
    to it (issue 16, attack round 3): editors who serve two organisations with the same
    keys signed decisions that counted in both, so a case copied with its decisions from
    one repository into the other was published there."""
    try:
        data = (Path(folder).parent.parent.parent / "trust" / "0000.json").read_bytes()
    except OSError:
        return None
    return hashlib.sha256(data).hexdigest()


def foreign(d: Decision, root: str | None) -> bool:
    """Whether `d` was made under another trust root than `root` (another organisation's
    repository). A statement made before decisions named their root is not."""
    return bool(d.root and root and d.root != root)


def paths(folder: Path, kind: str, name: str | None = None) -> tuple[Path, Path]:
    """(statement, signature) of a decision in `folder` (a case's `review/`)."""
    if name is not None and not _NAME.match(name):
        raise ValueError(f"decision name {name!r}: expected [a-z0-9_.-], 64 at most")
    base = Path(folder) / (f"{kind}--{name}.json" if name else f"{kind}.json")
    return base, base.with_name(base.name + ".asc")


def slot(kind: str, name: str | None = None) -> str:
    """The slot of a decision: its file's name without `.json` (one statement a slot)."""
    return f"{kind}--{name}" if name else kind


def record(folder: Path, kind: str, case_id: str, content_sha256: str, editor: str,
           keyring: Any, day: dt.date, payload: dict[str, Any] | None = None,
           name: str | None = None, chain: Chain | None = None, seq: int | None = None,
           root: str | None = None, vault: Any = None) -> Path:
    """Sign a decision as `editor` and store it (statement and signature) in `folder`, as
    the next of the case's chain: `chain` is the case's evaluated chain (what the new
    statement names as current), `seq` its number (default: the chain's newest + 1).
    With `vault` (a case that is not published) both are sealed to the editors in one file
    (`cases.review`); the plain statement path is returned either way."""
    from temoin.files import write_atomic

    chain = chain or Chain()
    data = statement(kind, case_id, content_sha256, editor, day, payload,
                     seq if seq is not None else chain.seq + 1, chain.merged(),
                     root if root is not None else root_of(folder))
    signature = keyring.sign_detached(data, editor)
    data_path, sig_path = paths(folder, kind, name)
    if vault is not None:
        stored.seal(Path(folder), slot(kind, name), data, signature, vault)
        return data_path
    write_atomic(data_path, data)
    write_atomic(sig_path, signature)
    stored.sealed_path(data_path).unlink(missing_ok=True)
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
          redo: str, root: str | None = None) -> tuple[Decision | None, list[str]]:
    """Whether a statement whose signature `signer` made (None: no good signature) counts:
    (the decision, []) when it does, else (the decision or None, problems). `content_sha256`
    None accepts any content (a withdrawal stays a withdrawal). `redo`: the command to run."""
    d = parse(data)
    if d is None:
        return None, [f"{where}: not a decision statement"]
    problems = []
    if d.case != case_id or d.kind != kind:
        problems.append(f"{where}: statement is about another case or decision")
    if foreign(d, root):
        problems.append(f"{where}: made under another trust root ({d.root[:16]}…, not this "
                        f"repository's {str(root)[:16]}…): a case copied from another "
                        "organisation's repository? It does not count here")
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
    data_path, _sig_path = paths(folder, kind, name)
    pair = stored.read(data_path)
    if pair is None:
        return None, [missing(kind, where, redo)]
    data, signature = pair
    roster = list(roster)
    d, problems = judge(data, verify(data, signature), kind, case_id, where,
                        content_sha256, roster, redo, root_of(folder))
    if not problems:
        stale = chain_of(verify, folder, case_id, roster).stale(slot(kind, name), data, where,
                                                                redo)
        problems = [stale] if stale else []
    return d, problems


def present(folder: Path, kind: str, name: str | None = None) -> bool:
    return stored.present(paths(folder, kind, name)[0])


# -- the chain of a case's decisions (replay, issue 16) ---------------------------------------
@dataclass
class Chain:
    """What `evaluate` found in a case's `review/`: `current` (slot -> sha256 of the
    statement that is current there), the newest good `seq` and the sha256 of the
    statements that have it (`tops`), `problems` for `temoin check`, and whether the case
    has no chained statement yet (`legacy`: format-1 statements count as before)."""

    current: dict[str, str] = field(default_factory=dict)
    seq: int = 0
    tops: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    legacy: bool = False
    present: frozenset[str] = frozenset()  # sha256 of every statement file in the folder
    files: dict[str, str] = field(default_factory=dict)  # slot -> sha256 of its file
    disputed: dict[str, frozenset[str]] = field(default_factory=dict)  # slot -> named shas

    def merged(self) -> dict[str, str]:
        """What a new decision names: the current statements, and, where the newest ones
        disagree (two clones at once), the statement in the file if one of them named it:
        recording a decision is how an editor merges the two."""
        out = dict(self.current)
        for name, named in self.disputed.items():
            if self.files.get(name) in named:
                out[name] = self.files[name]
        return out

    def stale(self, slot_name: str, data: bytes, where: str, redo: str) -> str | None:
        """Why the statement `data` in `slot_name` does not count although signed: not
        the current one of its slot. None when it is."""
        if self.legacy or self.current.get(slot_name) == hashlib.sha256(data).hexdigest():
            return None
        if not self.current and self.problems:
            return f"{where}: does not count: {self.problems[0]}"
        return (f"{where}: not the latest decision of its kind: the newest decisions of the "
                f"case (number {self.seq}) name another one or none (an older one restored "
                "from Git history, or one made on another clone at the same time): it does "
                f"not count. If it should, record it again ({redo})")


Signer = Callable[[Path, bytes], str | None]  # (statement path, its bytes) -> signer or None


def evaluate(folder: Path, case_id: str, roster: Iterable[str], signer: Signer,
             read: Callable[[Path], bytes | None] | None = None,
             root: str | None | Callable[[Path], str | None] = root_of) -> Chain:
    """The chain of the decisions in `folder` (a case's `review/`). Only GOOD statements
    shape it — a signature by a roster key naming that key as editor, about this case, of
    the kind its file says — so a forged statement names nothing. The newest good ones
    (highest `seq`: several when decided on two clones at once) are current, and so is
    what they name in `heads`; where they disagree about a slot, nothing is current there.
    Signatures are checked from the highest number down, only as far as needed (a case
    whose decisions are not chained yet: all of them). `root`: how to find the folder's
    trust root (`root_of`; a build's verifier reads it once)."""
    roster = set(roster)
    read = read or _read
    root = root(folder) if callable(root) else root
    where = f"cases/{case_id}/{FOLDER}"
    found: list[tuple[str, str, Decision, Path, bytes]] = []  # statements about this case
    present: set[str] = set()
    files: dict[str, str] = {}
    for path in stored.slots(folder):
        data = read(path)
        if data is None:
            continue
        sha = hashlib.sha256(data).hexdigest()
        name = path.name[:-len(".json")]
        present.add(sha)
        files[name] = sha
        d = parse(data)
        if d is not None and d.case == case_id and d.kind == name.split("--", 1)[0]:
            found.append((name, sha, d, path, data))

    def good(d: Decision, path: Path, data: bytes) -> bool:
        if foreign(d, root):
            return False
        who = signer(path, data)
        return who is not None and who in roster and who == d.editor

    tops: list[tuple[str, str, Decision]] = []
    for top in sorted({d.seq for _n, _s, d, _p, _b in found if d.seq > 0}, reverse=True):
        tops = [(n, sha, d) for n, sha, d, p, b in found if d.seq == top and good(d, p, b)]
        if tops:
            break
    if not tops:
        old = {n: sha for n, sha, d, p, b in found if d.seq == 0 and good(d, p, b)}
        return Chain(old, 0, (), [
            f"{where}/: decisions not chained (written before {FORMAT}): one restored from "
            "Git history would count; run `temoin migrate`"] if old else [], True,
            frozenset(present), files)
    top = tops[0][2].seq
    current = {n: sha for n, sha, _d in tops}
    problems = []
    disputed: dict[str, frozenset[str]] = {}
    for other in sorted({k for _n, _s, d in tops for k in d.heads} - set(current)):
        named = {d.heads.get(other) for _n, _s, d in tops}
        if len(named) == 1 and None not in named:
            current[other] = str(named.pop())
        else:
            disputed[other] = frozenset(str(x) for x in named if x)
            problems.append(f"{where}/{other}.json: the newest decisions (number {top}) "
                            "disagree about it (made on two clones at once?): it does not "
                            "count until an editor records a decision of the case again")
    for n, sha, d, _p, _b in found:
        if n not in disputed and current.get(n) != sha:
            problems.append(f"{where}/{n}.json: not the latest decision of its kind (number "
                            f"{d.seq or 'unnumbered'}; the newest, number {top}, names "
                            f"{'another' if n in current else 'none'}): an older decision "
                            "restored from Git history? It does not count")
    for n, sha in sorted(current.items()):
        if sha not in present:
            problems.append(f"{where}/{n}.json: named by the newest decisions of the case "
                            "but missing (deleted?)")
    return Chain(current, top, tuple(sorted(sha for _n, sha, _d in tops)), problems, False,
                 frozenset(present), files, disputed)


def _read(path: Path) -> bytes | None:
    return stored.statement(path)


def chain_of(verify: Verifier, folder: Path, case_id: str, roster: Iterable[str]) -> Chain:
    """The case's chain, from `verify`'s own memo and memory when it keeps them (a
    `curation.CachedVerifier`), else evaluated here."""
    own = getattr(verify, "chain", None)
    if callable(own):
        found = own(folder, case_id, roster)
        assert isinstance(found, Chain)
        return found

    def signer(path: Path, data: bytes) -> str | None:
        pair = stored.read(path)
        return verify(data, pair[1]) if pair is not None and pair[0] == data else None

    return evaluate(folder, case_id, roster, signer)
