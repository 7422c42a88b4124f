"""Publication gate and signed editorial decisions (four eyes that cannot be faked).

A decision (verify, approve) is a small JSON statement — case id, decision, editor
fingerprint, date, and the sha256 of the case's canonical content — with a detached OpenPGP
signature by that editor, stored in `cases/<ID>/review/`. The gate recomputes the content
hash and checks both signatures against the editor keys in `keys/editors/`, so editing YAML
by hand cannot fake an approval, and any change to a published case's facts or narrative
needs a new verification and approval.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cache as cache_mod
from temoin import cases as cases_mod
from temoin.cases import Case, schema, vocab
from temoin.config import Config

if TYPE_CHECKING:
    from temoin.cache import StatCache

# Fields that record the workflow rather than the facts: changing them needs no re-approval
# (the `workflow` column of the field table).
WORKFLOW_KEYS = schema.WORKFLOW_KEYS
DECISIONS = ("verify", "approve")
REVIEW = "review"
SENSITIVE_CATEGORIES = frozenset({"sgbv"})
PUBLIC_CONSENTS = frozenset({"anonymised", "named"})


def canonical(case: Case, files: StatCache | None = None) -> bytes:
    """The bytes a decision is about: public facts and narrative, plus media hashes.
    `files`: the build's stat cache (media files unchanged since are not read)."""
    facts = {k: v for k, v in case.meta.items() if k not in WORKFLOW_KEYS}
    media = {}
    folder = case.folder / "media"
    for m in case.meta.get("media") or []:
        f = folder / str(m.get("file"))
        if files is not None:
            media[str(m.get("file"))] = files.sha256(f)
        else:
            media[str(m.get("file"))] = hashlib.sha256(f.read_bytes()).hexdigest() \
                if f.is_file() else None
    doc = {"facts": facts, "narrative": case.narrative.strip(), "media": media}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str,
                      separators=(",", ":")).encode("utf-8")


def content_hash(case: Case, files: StatCache | None = None) -> str:
    return hashlib.sha256(canonical(case, files)).hexdigest()


def statement(case: Case, decision: str, editor: str, day: dt.date,
              **extra: Any) -> bytes:
    """The signed statement of one decision, as canonical JSON bytes."""
    doc = {"case": case.id, "decision": decision, "editor": editor, "date": day.isoformat(),
           "content_sha256": content_hash(case), **extra}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"


def decision_paths(case: Case, decision: str) -> tuple[Path, Path]:
    base = case.folder / REVIEW / f"{decision}.json"
    return base, base.with_name(base.name + ".asc")


Verifier = Callable[[bytes, bytes], str | None]  # (data, signature) -> signer fpr or None


def check_decision(case: Case, decision: str, expected_editor: str | None,
                   editors: Iterable[str], verify: Verifier, content: str | None = None,
                   files: StatCache | None = None) -> list[str]:
    """Problems with one decision (missing, for other content, bad signature, wrong editor).
    `content`: the case's `content_hash`, when the caller has it already. `files` (with a
    CachedVerifier): the build's stat cache; unchanged statements and signatures not read."""
    data_path, sig_path = decision_paths(case, decision)
    where = f"cases/{case.id}/{REVIEW}/{decision}.json"
    data: bytes | None = None
    sig_sha: str | None = None  # known from the stat cache: the signature is read if needed
    if files is not None and isinstance(verify, CachedVerifier):
        data = files.text(data_path)
        sig_sha = files.sha256(sig_path) if data is not None else None
        if sig_sha is None:
            data = None
    elif data_path.is_file() and sig_path.is_file():
        data = data_path.read_bytes()
    if data is None:
        return [f"{where}: no signed {decision} decision (run "
                f"{schema.command(decision, case.id)})"]
    try:
        doc = json.loads(data)
    except json.JSONDecodeError:
        return [f"{where}: not valid JSON"]
    problems = []
    if doc.get("case") != case.id or doc.get("decision") != decision:
        problems.append(f"{where}: statement is about another case or decision")
    if doc.get("content_sha256") != (content or content_hash(case)):
        problems.append(f"{where}: the case changed since it was {decision_done(decision)}: "
                        f"run {schema.command('verify', case.id)} and a second editor's "
                        f"{schema.command('approve', case.id)} again")
    if sig_sha is not None:
        assert isinstance(verify, CachedVerifier)
        signer = verify.by_digest(data, sig_sha, sig_path)
    else:
        signer = verify(data, sig_path.read_bytes())
    if signer is None:
        problems.append(f"{where}: signature does not verify (sign it again: "
                        f"{schema.command(decision, case.id)})")
    elif signer not in set(editors):
        problems.append(f"{where}: signed by {signer}, which is not an editor key")
    elif signer != doc.get("editor"):
        problems.append(f"{where}: signed by {signer} but claims editor {doc.get('editor')}")
    elif expected_editor and signer != expected_editor:
        problems.append(f"{where}: signed by {signer} but review.{decision_field(decision)} "
                        f"says {expected_editor} (sign it again: "
                        f"{schema.command(decision, case.id)})")
    return problems


def decision_field(decision: str) -> str:
    return {"verify": "verified_by", "approve": "approved_by"}[decision]


def decision_done(decision: str) -> str:
    return {"verify": "verified", "approve": "approved"}[decision]


def anonymisation_problems(case: Case, cfg: Config) -> list[str]:
    """Public-data rules: location no finer than allowed, no names of children or survivors
    of sexual violence, names only with named consent."""
    where = f"cases/{case.id}/case.md"
    meta = case.meta
    problems = []
    loc = (meta.get("event") or {}).get("location") or {}
    victims = [v for v in meta.get("victims") or [] if isinstance(v, dict)]
    acts = [a for a in meta.get("acts") or [] if isinstance(a, dict)]
    sgbv_victims = {a.get("victim") for a in acts
                    if vocab.category(str(a.get("type"))) in SENSITIVE_CATEGORIES}
    children = {v.get("id") for v in victims if v.get("age_group") == "child"}
    order = ("country", "admin1", "admin2")
    allowed = cfg.location_precision
    if sgbv_victims or children:
        allowed = "admin1" if order.index(allowed) > 1 else allowed
    shown = loc.get("precision", "admin2" if loc.get("admin2") else "admin1")
    if loc.get("admin2") and order.index(allowed) < 2:
        shown = "admin2"
    if order.index(shown) > order.index(allowed):
        why = " (sexual violence or a child: province only)" if allowed != \
            cfg.location_precision else ""
        problems.append(f"{where}: event.location: finer than allowed ({shown} > {allowed})"
                        f"{why}: remove admin2 and lower the precision "
                        f"({schema.fix('event.location.precision', case.id, allowed)}, "
                        f"{schema.fix('event.location.admin2', case.id, 'null')})")
    for i, v in enumerate(victims):
        if not v.get("name"):
            continue
        if meta.get("consent") != "named":
            problems.append(f"{where}: victims[{i}].name: a name needs consent: named "
                            f"(remove it: {schema.fix(f'victims.{i}.name', case.id)})")
        if v.get("id") in children:
            problems.append(f"{where}: victims[{i}].name: children are never named "
                            f"(remove it: {schema.fix(f'victims.{i}.name', case.id)})")
        if v.get("id") in sgbv_victims:
            problems.append(f"{where}: victims[{i}].name: survivors of sexual violence are "
                            f"never named (remove it: {schema.fix(f'victims.{i}.name', case.id)})")
    return problems + exact_age_problems(case)


def gate_problems(case: Case, cfg: Config, verify: Verifier | None,
                  files: StatCache | None = None) -> list[str]:
    """Every reason `case` may not be published; [] means it passes the gate (DESIGN §5).
    `verify=None` skips signature checks (only for previews that say so); `files`: the
    build's stat cache."""
    where = f"cases/{case.id}"
    meta = case.meta
    problems = []
    if meta.get("status") != "published":
        problems.append(f"{where}: status is {meta.get('status')}, not published (run "
                        f"{schema.command('publish', case.id)})")
    level = str(meta.get("verification"))
    if vocab.level_rank(level) < vocab.level_rank(cfg.publish_min_level):
        problems.append(f"{where}: verification is {level}; publishing needs "
                        f"{cfg.publish_min_level} or higher (run "
                        f"{schema.fix('verification', case.id)})")
    if meta.get("consent") not in PUBLIC_CONSENTS:
        problems.append(f"{where}: consent is {meta.get('consent')}; a page needs "
                        "anonymised or named, as the people concerned agreed (record it: "
                        f"{schema.fix('consent', case.id)})")
    review = meta.get("review") or {}
    if not review.get("risk_reviewed"):
        problems.append(f"{where}: no risk review recorded (run "
                        f"{schema.fix('review.risk_reviewed', case.id)})")
    vb, ab = review.get("verified_by"), review.get("approved_by")
    if not vb:
        problems.append(f"{where}: not verified by an editor (run "
                        f"{schema.fix('review.verified_by', case.id)})")
    if not ab:
        problems.append(f"{where}: not approved by an editor (a second editor runs "
                        f"{schema.fix('review.approved_by', case.id)})")
    if vb and ab and vb == ab:
        problems.append(f"{where}: verified and approved by the same editor; a second editor "
                        f"must approve (four eyes: {schema.command('approve', case.id)})")
    if (meta.get("event") or {}).get("date_start") is None:
        problems.append(f"{where}: event.date_start missing (set it: "
                        f"{schema.fix('event.date_start', case.id, 'YYYY-MM-DD')})")
    if not meta.get("acts"):
        problems.append(f"{where}: no acts recorded (add them: {schema.fix('acts', case.id)})")
    for key in cases_mod.confidential_keys(meta):
        problems.append(f"{where}/case.md: {key}: confidential key in the public file (move "
                        f"it to the private part: {schema.command('edit', case.id)})")
    problems.extend(anonymisation_problems(case, cfg))
    if verify is not None:
        editors = cfg.recipient_fingerprints
        content = content_hash(case, files)  # both decisions are about the same content
        for decision in DECISIONS:
            problems.extend(check_decision(case, decision,
                                           review.get(decision_field(decision)), editors,
                                           verify, content, files))
    return problems


def counts_in_statistics(case: Case) -> bool:
    """Published-with-consent cases and aggregate-only ones count in figures (not drafts)."""
    return case.status == "published" and case.meta.get("consent") in (
        PUBLIC_CONSENTS | {"aggregate_only"})


def partition(all_cases: Iterable[Case], cfg: Config, verify: Verifier | None,
              files: StatCache | None = None
              ) -> tuple[list[Case], list[Case], dict[str, list[str]]]:
    """(cases with a page, aggregate-only cases counted in statistics, refusals by id).

    An aggregate-only case needs the same verification and signatures, but no page consent.
    """
    pages, aggregate, refused = [], [], {}
    for case in all_cases:
        problems = release_problems(case, cfg, verify, files)
        if problems:
            refused[case.id] = problems
        elif case.meta.get("consent") == "aggregate_only":
            aggregate.append(case)
        else:
            pages.append(case)
    return pages, aggregate, refused


def release_problems(case: Case, cfg: Config, verify: Verifier | None,
                     files: StatCache | None = None) -> list[str]:
    """Gate problems, except that aggregate-only consent is a valid way to be released
    (counted in statistics, no page)."""
    problems = gate_problems(case, cfg, verify, files)
    if case.meta.get("consent") == "aggregate_only":
        problems = [p for p in problems if "consent is aggregate_only" not in p]
    return problems


def editor_key_files(repo: Path) -> list[Path]:
    return sorted((Path(repo) / "keys" / "editors").glob("*.asc"))


SIGNATURES = cache_mod.Spec(
    "signatures.json", ("temoin.curation", "temoin.keys"), ("python-gnupg",),
    "signer of each good decision signature, by sha256(editor keys, statement, signature)")


class CachedVerifier:
    """Verify decision signatures against `keys/editors/`, remembering good results.

    gpg costs ~9 ms a verification; a 20,000-case build checks 40,000 signatures. The cache
    (`SIGNATURES`, in this user's cache folder, authenticated with its key) maps
    sha256(editor keys ‖ statement ‖ signature) to the signer: it only ever saves a gpg call
    for the exact same bytes under the exact same editor keys. A file this folder's key did
    not sign (copied, committed, forged) is ignored: every signature is verified again.
    """

    def __init__(self, repo: Path) -> None:
        self.repo = Path(repo)
        self.files = editor_key_files(repo)
        keyset = hashlib.sha256()
        for f in self.files:
            keyset.update(hashlib.sha256(f.read_bytes()).digest())
        self.keyset = keyset.hexdigest()
        self.file = cache_mod.open_file(self.repo, SIGNATURES)
        self.cache: dict[str, str] = {}
        raw = self.file.load() if self.file is not None else None
        with contextlib.suppress(ValueError, TypeError):
            found = json.loads(raw) if raw is not None else None
            if isinstance(found, dict):
                self.cache = {k: v for k, v in found.items()
                              if isinstance(k, str) and isinstance(v, str)}
        self._dirty = False
        self._ctx: Any = None
        self._kr: Any = None

    def _key(self, data: bytes, signature: bytes) -> str:
        return self._digest_key(data, hashlib.sha256(signature).digest())

    def _digest_key(self, data: bytes, signature_sha256: bytes) -> str:
        return hashlib.sha256(self.keyset.encode() + hashlib.sha256(data).digest()
                              + signature_sha256).hexdigest()

    def by_digest(self, data: bytes, signature_sha256: str, path: Path) -> str | None:
        """`self(data, signature)` for the signature at `path` whose sha256 the stat cache
        gave: read only when the cache does not know the pair."""
        key = self._digest_key(data, bytes.fromhex(signature_sha256))
        if key in self.cache:
            return self.cache[key]
        try:
            signature = path.read_bytes()
        except OSError:
            return None
        return self(data, signature)

    def _keyring(self) -> Any:
        if self._kr is None:
            from temoin import keys

            self._ctx = keys.public_keyring(self.files)
            self._kr = self._ctx.__enter__()
        return self._kr

    def __call__(self, data: bytes, signature: bytes) -> str | None:
        key = self._key(data, signature)
        if key in self.cache:
            return self.cache[key]
        if not self.files:
            return None
        signer: str | None = self._keyring().verify_detached(data, signature)
        if signer:
            self.cache[key] = signer
            self._dirty = True
        return signer

    def warm(self, jobs: int | None = None, files: StatCache | None = None) -> int:
        """Verify, in parallel, every decision signature under cases/ not yet cached.

        On a machine that has never built the repo (a fresh clone, a new CI runner) every
        signature is a miss: one gpg process each, ~20 ms, 40,000 for 20,000 cases. gpg's
        start-up and I/O overlap well across threads. Returns how many were verified; does
        nothing when the cache already holds about as many entries as there are signatures
        (the build then verifies the few misses one by one, as before). With `files` (the
        build's stat cache) it goes through each case's decisions instead of globbing
        review/ folders: unchanged files are stat-ed, not read."""
        root = self.repo / cases_mod.CASES
        if not self.files or not root.is_dir():
            return 0
        with os.scandir(root) as entries:  # at most two signatures a case: a warm cache
            folders = sum(1 for e in entries if e.is_dir())  # needs no walk of review/
        if len(self.cache) >= 2 * folders:
            return 0
        if files is not None:
            return self._warm_pairs(self._pairs(root, files), jobs)
        sigs = sorted(root.glob(f"*/{REVIEW}/*.json.asc"))
        if not sigs or len(self.cache) >= len(sigs):
            return 0
        todo = []
        for sig in sigs:
            data_path = sig.with_suffix("")
            if data_path.is_file():
                data, signature = data_path.read_bytes(), sig.read_bytes()
                if self._key(data, signature) not in self.cache:
                    todo.append((data, signature))
        return self._warm_pairs(todo, jobs)

    def _pairs(self, root: Path, files: StatCache) -> list[tuple[bytes, bytes]]:
        """(statement, signature) of every decision the gate checks not in the cache."""
        todo = []
        with os.scandir(root) as entries:
            folders = sorted(e.name for e in entries if e.is_dir())
        for name in folders:
            for decision in DECISIONS:
                data_path = root / name / REVIEW / f"{decision}.json"
                sig_path = data_path.with_name(data_path.name + ".asc")
                data = files.text(data_path)
                sig_sha = files.sha256(sig_path) if data is not None else None
                if data is None or sig_sha is None:
                    continue
                if self._digest_key(data, bytes.fromhex(sig_sha)) not in self.cache:
                    with contextlib.suppress(OSError):
                        todo.append((data, sig_path.read_bytes()))
        return todo

    def _warm_pairs(self, todo: list[tuple[bytes, bytes]], jobs: int | None) -> int:
        if todo:
            from concurrent.futures import ThreadPoolExecutor

            self._keyring()
            with ThreadPoolExecutor(jobs or min(8, 2 * (os.cpu_count() or 1))) as pool:
                list(pool.map(lambda pair: self(*pair), todo))
        return len(todo)

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = self._kr = None
        if self._dirty and self.file is not None:
            self.file.save(json.dumps(self.cache, sort_keys=True).encode())
        self._dirty = False

    def __enter__(self) -> CachedVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record_decision(repo: Path, case: Case, decision: str, editor: str, keyring: Any,
                    day: dt.date, **extra: Any) -> Path:
    """Sign `decision` about the case's current content as `editor` and store it in
    `cases/<ID>/review/`; also set `review.<verified_by|approved_by>` in the front matter
    (the caller saves the case). The signature is what counts; the field is for readers."""
    from temoin.files import write_atomic

    if decision not in DECISIONS:
        raise ValueError(decision)
    review = dict(case.meta.get("review") or {})
    review[decision_field(decision)] = editor
    case.meta["review"] = review
    data = statement(case, decision, editor, day, **extra)
    signature = keyring.sign_detached(data, editor)
    data_path, sig_path = decision_paths(case, decision)
    write_atomic(data_path, data)
    write_atomic(sig_path, signature)
    return data_path


# -- the state machine (issue 4) ------------------------------------------------------------
# status -> {next status: the `temoin case` command that takes a case there}. `approve` also
# moves a draft into review (an approved draft is under review by definition); `publish` on a
# published case re-publishes it after a new verification and approval.
TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"review": "review", "rejected": "reject", "withdrawn": "withdraw",
              "duplicate": "merge"},
    "review": {"published": "publish", "draft": "reopen", "rejected": "reject",
               "withdrawn": "withdraw", "duplicate": "merge"},
    "published": {"published": "publish", "withdrawn": "withdraw"},
    "rejected": {"draft": "reopen"},
    "withdrawn": {},
    "duplicate": {},
}
# Commands that change no status but only make sense while a case is being worked on.
WORKING_STATES = ("draft", "review", "published")


def next_steps(case: Case) -> list[str]:
    """The commands an editor may run next on `case`, e.g. ['temoin case publish ID', …]."""
    cmds = list(dict.fromkeys(TRANSITIONS.get(case.status, {}).values()))
    if case.status in WORKING_STATES:
        cmds = ["verify", "approve", *cmds]
    args = {"verify": " --level LEVEL", "merge": " INTO", "withdraw": " --reason TEXT",
            "reject": " --reason TEXT"}
    return [f"temoin case {c} {case.id}{args.get(c, '')}" for c in cmds]


def _refuse(case: Case, command: str) -> None:
    from temoin.errors import WorkflowError

    steps = next_steps(case)
    allowed = "; ".join(f"`{s}`" for s in steps) if steps else \
        f"none: {case.status} is final"
    raise WorkflowError(f"cases/{case.id}: cannot {command} a case that is {case.status}. "
                        f"Allowed next steps: {allowed}")


def check_transition(case: Case, target: str, command: str) -> None:
    """Raise WorkflowError (exit 1) naming the allowed next steps unless `command` may take
    `case` to `target`."""
    if TRANSITIONS.get(case.status, {}).get(target) != command:
        _refuse(case, command)


def check_working(case: Case, command: str) -> None:
    """Raise WorkflowError unless `case` is draft, review or published (verify, approve…)."""
    if case.status not in WORKING_STATES:
        _refuse(case, command)


def decision_valid(case: Case, decision: str, cfg: Config, verify: Verifier) -> bool:
    """Does `case` hold a good signed `decision` for its current content?"""
    review = case.meta.get("review") or {}
    return not check_decision(case, decision, review.get(decision_field(decision)),
                              cfg.recipient_fingerprints, verify)


def waiting(case: Case, cfg: Config, verify: Verifier) -> tuple[str, str] | None:
    """What `case` waits for and from whom: ('verification' | 'approval' | 'publication',
    who), or None when nothing is pending (published and intact, or closed)."""
    if case.status not in WORKING_STATES:
        return None
    if not decision_valid(case, "verify", cfg, verify):
        return "verification", "any editor"
    verifier = (case.meta.get("review") or {}).get("verified_by") or ""
    if not decision_valid(case, "approve", cfg, verify):
        return "approval", f"an editor other than {cfg.editor_name(verifier)}"
    if case.status != "published":
        return "publication", "any editor"
    return None


# Exact ages in public text ("un garçon de 14 ans", "a 14-year-old"): age_group says enough.
_EXACT_AGE = re.compile(
    r"\bâgée?s?\s+de\s+\d{1,3}\s*ans\b"
    r"|\b(?:garçon|fille|enfant|homme|femme|jeune|adolescente?|mineure?|élève|écolière?"
    r"|étudiante?|bébé|nourrisson|victime|personne|survivante?|détenue?)s?\s+de\s+\d{1,3}"
    r"\s*ans\b"
    r"|\(\s*\d{1,3}\s*ans\s*\)"
    r"|\b\d{1,3}[\s-]*(?:years?|yrs?)[\s-]*old\b|\baged\s+\d{1,3}\b|\bage\s*:?\s*\d{1,3}\b",
    re.IGNORECASE)


# What every _EXACT_AGE match contains (a number then "ans" or "y…", or "age" then a
# number), with the same flags: a text without it cannot match, and this scan is ~4x faster
# than _EXACT_AGE's alternation of words at every position.
_EXACT_AGE_HINT = re.compile(r"\d[\s-]*(?:ans|y)|age\s*:?\s*\d|aged\s+\d", re.IGNORECASE)


def exact_age_problems(case: Case) -> list[str]:
    """Exact ages stated in the public title, summary or narrative (never public)."""
    where = f"cases/{case.id}/case.md"
    texts = [("narrative", case.narrative)]
    for key in ("title", "summary"):
        for lang, text in (case.meta.get(key) or {}).items():
            texts.append((f"{key}.{lang}", str(text)))
    texts = [(f, text) for f, text in texts if text and _EXACT_AGE_HINT.search(text)]
    return [f"{where}: {field}: states an exact age ({m.group(0)!r}); exact ages are never "
            "public: say child/adult (victims[].age_group) instead "
            f"({schema.command('edit', case.id)})"
            for field, text in texts for m in _EXACT_AGE.finditer(text or "")]


def private_leaks(public_text: str, case_id: str, private: dict[str, Any]) -> list[str]:
    """Fields of the private part whose values appear in the public text (the same rules as
    the build's canary scan, so what passes here passes there). Names fields, never values."""
    from temoin.gates import canaries as can
    from temoin.gates import canaries_from_private

    matcher = can.Matcher()  # fed exactly as the build's canary gate feeds it
    for c in canaries_from_private(case_id, private):
        folded = can.fold(c.value)
        if len(folded) >= can.MIN_NAME:
            matcher.add(folded, c.field, suffix=c.suffix)
    found: set[object] = set()
    for form in can.forms(public_text):
        found |= matcher.find(form)
    return sorted(str(f) for f in found)
