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
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cache as cache_mod
from temoin import cases as cases_mod
from temoin.cases import Case, schema, vocab
from temoin.config import Config
from temoin.curation import consent, decisions, precision

if TYPE_CHECKING:
    from temoin.cache import StatCache

# Fields that record the workflow rather than the facts: changing them needs no re-approval
# (the `workflow` column of the field table).
WORKFLOW_KEYS = schema.WORKFLOW_KEYS
DECISIONS = ("verify", "approve")
# Every signed decision the gate reads (issue 16: only signatures make things public).
SIGNED = ("verify", "approve", "risk-review", "publish", "urgent", "interventions",
          "withdraw", "consent")
REVIEW = "review"
# The command that (re)signs each decision, for messages.
REDO = {"verify": "`temoin case verify ID --level LEVEL`", "approve": "`temoin case approve ID`",
        "risk-review": "`temoin case risk-review ID`", "publish": "`temoin case publish ID`",
        "urgent": "`temoin case urgent ID`", "interventions": "`temoin case intervene ID`",
        "withdraw": "`temoin case withdraw ID`",
        "consent": "`temoin case consent ID --ceiling CONSENT --how HOW --given-by WHO`"}
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
    """The signed statement of one decision about the case's current content, as canonical
    JSON bytes (`decisions.statement`: one format for every kind)."""
    return decisions.statement(decision, case.id, content_hash(case), editor, day, extra)


def decision_paths(case: Case, decision: str) -> tuple[Path, Path]:
    return decisions.paths(case.folder / REVIEW, decision)


Verifier = decisions.Verifier  # (data, signature) -> signer fpr or None


def check_decision(case: Case, decision: str, expected_editor: str | None,
                   editors: Iterable[str], verify: Verifier, content: str | None = None,
                   files: StatCache | None = None) -> list[str]:
    """Problems with one decision (missing, for other content, bad signature, wrong editor).
    `content`: the case's `content_hash`, when the caller has it already. `files` (with a
    CachedVerifier): the build's stat cache; unchanged statements and signatures not read."""
    return judged(case, decision, expected_editor, editors, verify, content, files)[1]


def judged(case: Case, decision: str, expected_editor: str | None, editors: Iterable[str],
           verify: Verifier, content: str | None = None, files: StatCache | None = None
           ) -> tuple[decisions.Decision | None, list[str]]:
    """(the decision, []) when the signed `decision` of `case` counts — a good signature by
    a roster key, before its revocation or expiry, for the current content (any content
    for a withdrawal) — else (None or the statement, problems)."""
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
    redo = REDO.get(decision, f"`temoin case {decision} ID`").replace("ID", case.id)
    if data is None:
        return None, [decisions.missing(decision, where, redo)]
    if sig_sha is not None:
        assert isinstance(verify, CachedVerifier)
        signer = verify.by_digest(data, sig_sha, sig_path)
    else:
        signer = verify(data, sig_path.read_bytes())
    # A withdrawal stays a withdrawal, and a consent statement records what a person gave:
    # both name the content they were signed on but hold whatever it becomes.
    covers = None if decision in ("withdraw", consent.KIND) else (content or content_hash(case))
    doc, problems = decisions.judge(data, signer, decision, case.id, where, covers, editors,
                                    redo)
    if not problems and expected_editor and signer != expected_editor \
            and decision in DECISIONS:
        problems.append(f"{where}: signed by {signer} but review.{decision_field(decision)} "
                        f"says {expected_editor}")
    return (doc if not problems else None), problems


def signed(case: Case, kind: str, editors: Iterable[str], verify: Verifier,
           content: str | None = None, files: StatCache | None = None
           ) -> decisions.Decision | None:
    """The `kind` decision of `case` if it counts, else None."""
    return judged(case, kind, None, editors, verify, content, files)[0]


def decision_field(decision: str) -> str:
    return {"verify": "verified_by", "approve": "approved_by"}[decision]


def anonymisation_problems(case: Case, cfg: Config) -> list[str]:
    """Public-data rules: location no finer than allowed, no names of children or survivors
    of sexual violence, names only with named consent. (Places and ages in the public text:
    `curation.precision`.)"""
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
    return problems


def gate_problems(case: Case, cfg: Config, verify: Verifier | None,
                  files: StatCache | None = None) -> list[str]:
    """Every reason `case` may not be published; [] means it passes the gate (DESIGN §5).
    `verify=None` skips signature checks (only for previews that say so); `files`: the
    build's stat cache.

    With signatures, what is public comes from signed decisions only (issue 16): a signed
    `publish` and `risk-review` for the current content, verification and approval by two
    different PERSONS of the trust root's roster, and no signed withdrawal. The workflow
    fields of case.md (status, review.*) must agree; a hand edit of them never publishes."""
    where = f"cases/{case.id}"
    meta = case.meta
    problems = []
    if meta.get("status") != "published":
        problems.append(f"{where}: status is {meta.get('status')}, not published (run "
                        f"{schema.command('publish', case.id)})")
    level = str(meta.get("verification"))
    if vocab.level_rank(level) < vocab.level_rank(cfg.publish_min_level):
        problems.append(f"{where}: verification is {level}; publishing needs "
                        f"{cfg.publish_min_level} or higher")
    if meta.get("consent") not in cfg.page_consents:
        problems.append(f"{where}: consent is {meta.get('consent')}; a page needs "
                        + " or ".join(cfg.page_consents))
    review = meta.get("review") or {}
    if verify is None and not review.get("risk_reviewed"):
        problems.append(f"{where}: no risk review recorded (review.risk_reviewed)")
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
    if meta.get("consent") != "aggregate_only":  # no page: its text never ships
        problems.extend(precision.problems(case, cfg, verify, files=files))
    if verify is not None:
        problems.extend(signed_problems(case, cfg, verify, files))
    return problems


def signed_problems(case: Case, cfg: Config, verify: Verifier,
                    files: StatCache | None = None) -> list[str]:
    """What the signed decisions lack for `case` to be public (see `gate_problems`)."""
    where = f"cases/{case.id}"
    review = case.meta.get("review") or {}
    editors = cfg.recipient_fingerprints
    content = content_hash(case, files)  # every decision is about the same content
    problems: list[str] = []
    signers = {}
    for decision in DECISIONS:
        doc, found = judged(case, decision, review.get(decision_field(decision)), editors,
                            verify, content, files)
        problems.extend(found)
        if doc is not None:
            signers[decision] = doc.editor
    if len(signers) == 2 and cfg.person(signers["verify"]) == cfg.person(signers["approve"]):
        who = cfg.person(signers["verify"])
        problems.append(f"{where}: verified and approved by keys of one person ({who}) in the "
                        "trust root's roster; a second person must approve (four eyes)")
    pub = None
    for kind in ("risk-review", "publish"):
        doc, found = judged(case, kind, None, editors, verify, content, files)
        problems.extend(found)
        pub = doc if kind == "publish" else pub
    problems.extend(consent.build_problems(case, editors, verify, content, pub, files))
    withdrawn = signed_withdrawal(case, cfg, verify) if decisions.present(
        case.folder / REVIEW, "withdraw") else None
    if withdrawn is not None:
        problems.append(f"{where}: withdrawn by a signed decision")
    else:
        problems.extend(undone_withdrawal(case, cfg))
    return problems


def undone_withdrawal(case: Case, cfg: Config) -> list[str]:
    """A case this machine has seen withdrawn by a signed decision that no longer has one:
    a withdrawal is final, so deleting it (or restoring the case as it was before) makes
    nothing public again (`trust.seen_withdrawn`)."""
    from temoin import trust

    sha = trust.seen_withdrawn(cfg.repo).get(case.id)
    if sha is None:
        return []
    return [f"cases/{case.id}/{REVIEW}/withdraw.json: this machine has seen a signed "
            f"withdrawal of this case (sha256 {sha[:16]}…) that is now missing or changed: a "
            "withdrawal is final, so the case stays off the site. Restore the withdrawal "
            "from a copy you trust"]


def public_view(case: Case, cfg: Config, verify: Verifier | None,
                files: StatCache | None = None) -> Case:
    """The case as the public may see it: its workflow fields (status, published, urgent,
    interventions, review.risk_reviewed) taken from the signed decisions, never from
    case.md (issue 16). Without signatures (`verify=None`, a preview that says so) the
    case as it is."""
    if verify is None:
        return case
    editors = cfg.recipient_fingerprints
    content = content_hash(case, files)
    meta = dict(case.meta)
    pub = signed(case, "publish", editors, verify, content, files)
    risk = signed(case, "risk-review", editors, verify, content, files)
    meta["status"] = "published"
    if pub is not None:
        meta["published"] = _day(pub.payload.get("published")) or pub.day
        updated = _day(pub.payload.get("updated"))
        meta.pop("updated", None)
        if updated:
            meta["updated"] = updated
    review = dict(meta.get("review") or {})
    if risk is not None:
        review["risk_reviewed"] = risk.day
    meta["review"] = review
    urgent = signed(case, "urgent", editors, verify, content, files) if decisions.present(
        case.folder / REVIEW, "urgent") else None
    meta["urgent"] = bool(urgent and urgent.payload.get("urgent") is True)
    shown = signed(case, "interventions", editors, verify, content, files) \
        if decisions.present(case.folder / REVIEW, "interventions") else None
    entries = shown.payload.get("entries") if shown is not None else None
    meta["interventions"] = [dict(e, date=_day(e.get("date")) or e.get("date"))
                             for e in entries if isinstance(e, dict)] \
        if isinstance(entries, list) else []
    if not meta["interventions"]:
        meta.pop("interventions")
    return Case(meta=meta, narrative=case.narrative, folder=case.folder)


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def signed_withdrawal(case: Case, cfg: Config, verify: Verifier | None
                      ) -> decisions.Decision | None:
    """The case's signed withdrawal if it counts (its reason is the public erratum)."""
    if verify is None or not decisions.present(case.folder / REVIEW, "withdraw"):
        return None
    d = signed(case, "withdraw", cfg.recipient_fingerprints, verify)
    if d is not None:  # remembered outside the repository: a withdrawal is final
        from temoin import trust

        data_path, _sig = decision_paths(case, "withdraw")
        with contextlib.suppress(OSError):
            trust.remember_withdrawn(cfg.repo, case.id,
                                     hashlib.sha256(data_path.read_bytes()).hexdigest())
    return d


def withdrawn_cases(all_cases: Iterable[Case], cfg: Config, verify: Verifier | None
                    ) -> list[Case]:
    """Withdrawn cases as the errata show them: a signed withdrawal's date, reason and the
    publication date it records (a hand-set `status: withdrawn` adds no erratum)."""
    out = []
    for case in all_cases:
        if case.status != "withdrawn":
            continue
        if verify is None:
            out.append(case)
            continue
        d = signed_withdrawal(case, cfg, verify)
        if d is None:
            continue
        meta = dict(case.meta)
        reason = d.payload.get("reason") if isinstance(d.payload.get("reason"), dict) else {}
        meta["withdrawn"] = {"date": d.day, "reason": reason}
        meta["published"] = _day(d.payload.get("published"))
        if meta["published"] is None:
            meta.pop("published")
        out.append(Case(meta=meta, narrative=case.narrative, folder=case.folder))
    return out


def hand_edits(case: Case, cfg: Config, verify: Verifier) -> list[str]:
    """Workflow fields of case.md that the signed decisions do not back (what `temoin
    check` reports: they change nothing public)."""
    where = f"cases/{case.id}/case.md"
    out = []
    editors = cfg.recipient_fingerprints
    content = content_hash(case)
    meta = case.meta
    if meta.get("status") == "published" and signed(case, "publish", editors, verify,
                                                     content) is None:
        out.append(f"{where}: status: published, but no signed publish decision for the "
                   f"current content: nothing is public (run `temoin case publish {case.id}`)")
    if meta.get("status") == "withdrawn" and signed_withdrawal(case, cfg, verify) is None:
        out.append(f"{where}: status: withdrawn, but no signed withdraw decision "
                   f"(run `temoin case withdraw {case.id} --reason TEXT`)")
    elif meta.get("status") != "withdrawn" and signed_withdrawal(case, cfg, verify) is None:
        out.extend(undone_withdrawal(case, cfg))
    if (meta.get("review") or {}).get("risk_reviewed") and signed(
            case, "risk-review", editors, verify, content) is None:
        out.append(f"{where}: review.risk_reviewed is set by hand: no signed risk-review "
                   f"decision for the current content (run `temoin case risk-review {case.id}`)")
    if meta.get("urgent") is True:
        u = signed(case, "urgent", editors, verify, content) if decisions.present(
            case.folder / REVIEW, "urgent") else None
        if u is None or u.payload.get("urgent") is not True:
            out.append(f"{where}: urgent: true without a signed urgent decision: not shown "
                       f"(run `temoin case urgent {case.id}`)")
    if meta.get("interventions"):
        iv = signed(case, "interventions", editors, verify, content) if decisions.present(
            case.folder / REVIEW, "interventions") else None
        shown = iv.payload.get("entries") if iv is not None else None
        if _plain(shown) != _plain(meta.get("interventions")):
            out.append(f"{where}: interventions: the public summaries differ from the signed "
                       "interventions decision: only the signed ones are shown (run "
                       f"`temoin case intervene {case.id} …` to sign them)")
    return out


def _plain(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


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
            aggregate.append(public_view(case, cfg, verify, files))
        else:
            pages.append(public_view(case, cfg, verify, files))
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
            for decision in SIGNED:
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
    """Sign `decision` (any kind: verify, approve, risk-review, publish, urgent, …) about the
    case's current content as `editor` and store it in `cases/<ID>/review/`; for verify and
    approve also set `review.<verified_by|approved_by>` in the front matter (the caller
    saves the case). The signature is what counts; the field is for readers."""
    if decision in DECISIONS:
        review = dict(case.meta.get("review") or {})
        review[decision_field(decision)] = editor
        case.meta["review"] = review
    return decisions.record(case.folder / REVIEW, decision, case.id, content_hash(case),
                            editor, keyring, day, extra)


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
    expected = review.get(decision_field(decision)) if decision in DECISIONS else None
    return not check_decision(case, decision, expected, cfg.recipient_fingerprints, verify)


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
    if case.status != "published" or not decision_valid(case, "risk-review", cfg, verify) \
            or not decision_valid(case, "publish", cfg, verify):
        return "publication", "any editor"
    return None


def private_leaks(public_text: str, case_id: str, private: dict[str, Any],
                  meta: dict[str, Any] | None = None) -> list[str]:
    """Fields of the private part whose values appear in the public text, in any form the
    build's canary gate finds (the same matcher, `gates.matcher`); the case's own public
    place names (from `meta`) are not canaries for it. Names fields, never values."""
    from temoin import gates

    return gates.text_leaks(gates.matcher(gates.own_canaries(case_id, private, meta)),
                            public_text)


QUOTE_WORDS = 8  # a run of this many words of the testimony in the public text is a quote


def quote_id(run: str) -> str:
    """A short stable name for one shared run (what the risk review acknowledges)."""
    return hashlib.sha256(run.encode("utf-8")).hexdigest()[:12]


def verbatim_quotes(public_text: str, private: dict[str, Any]) -> list[str]:
    """Every run of QUOTE_WORDS or more consecutive words that the public text shares with
    the private testimony (and other free text of the private part), as the public text
    has them (normalised: lower case, no accents): a distinctive phrase can identify its
    speaker even where no sentence is copied whole."""
    from temoin.gates import canaries as can

    return can.shared_runs(public_text, can.private_texts(private), QUOTE_WORDS)


def unacknowledged_quotes(case: Case, runs: list[str]) -> list[str]:
    """THE check of verbatim quotes (one place, so that it can move onto the signed risk
    statement): each run not acknowledged in the risk review (`review.quotes_acknowledged`,
    ids from `quote_id`), as a problem naming the file and the run's id."""
    acknowledged = set((case.meta.get("review") or {}).get("quotes_acknowledged") or [])
    return [f"cases/{case.id}/case.md: quotes the private testimony verbatim "
            f"({len(r.split())} words, quote {quote_id(r)}: \"{r}\"): rephrase it, or "
            f"acknowledge it in the risk review (`temoin case risk-review {case.id} "
            "--acknowledge-quotes`)" for r in runs if quote_id(r) not in acknowledged]
