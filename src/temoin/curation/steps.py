"""Curation steps: status changes, signed decisions, risk review and merges (DESIGN §5, §6).

Each step loads the case, checks the state machine (`curation.TRANSITIONS`) and its gate,
writes atomically (private part, then decision, then case.md, so a crash leaves at worst a
stale signature that the next run replaces), appends one custody entry (ids, hashes and
fingerprints only), and returns an `Outcome`: one line saying what happened and what comes
next, plus notes. Confidential notes and reasons go to the encrypted private part only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cases, curation, custody
from temoin.cases import Case, vocab
from temoin.config import Config
from temoin.curation import consent, precision
from temoin.curation.readiness import publish_problems
from temoin.errors import CaseError, CryptoError, GateError, WorkflowError
from temoin.keys import vault

if TYPE_CHECKING:
    from temoin.keys import Keyring

CHANNELS = ("in_person", "phone", "email", "messaging", "other")


@dataclass
class Outcome:
    """What a step did: the case, one line for the editor, and notes worth knowing."""

    case_id: str
    message: str
    notes: list[str] = field(default_factory=list)


def _require_secret(keyring: Keyring, editor: str, cfg: Config, what: str) -> None:
    if not keyring.has_secret(editor):
        raise CryptoError(f"{what} is signed with the acting editor's key, but the secret key "
                          f"of {cfg.editor_name(editor)} ({editor}) is not in {keyring.home}")


def _log(repo: Path, action: str, case: Case, editor: str, **extra: Any) -> None:
    custody.append(repo, action, case=case.id, editor=editor, status=case.status,
                   content_sha256=curation.content_hash(case), **extra)


def _load(repo: Path, case_id: str) -> Case:
    return cases.load(repo, case_id)


# -- creating ----------------------------------------------------------------------------
def new_case(repo: Path, cfg: Config, keyring: Keyring, editor: str, channel: str,
             today: dt.date, given: str | None = None) -> Case:
    """An empty draft (a testimony taken by phone or in person): random id, status draft,
    verification received, no public consent yet; a private part holding the intake facts
    and `given`, the consent the person gave the editor (the ceiling: none if not said)."""
    if channel not in CHANNELS:
        raise CaseError(f"channel: expected one of {', '.join(CHANNELS)}, got {channel!r}")
    if given is not None and given not in consent.ORDER:
        raise CaseError(f"--consent: expected one of {', '.join(consent.ORDER)}, got "
                        f"{given!r}")
    root = Path(repo) / cases.CASES
    taken = {p.name for p in root.iterdir()} if root.is_dir() else set()
    cid = cases.new_id(cfg.case_prefix, today.year, secrets.token_bytes(32), taken)
    meta: dict[str, Any] = {
        "id": cid,
        "title": {"fr": f"Nouveau cas du {today.isoformat()}",
                  "en": f"New case of {today.isoformat()}"},
        "status": "draft", "verification": "received", "urgent": False,
        "event": {"date_start": None, "date_precision": "day",
                  "location": {"country": cfg.country, "precision": "admin1"}},
        "consent": "none", "received": today,
    }
    private: dict[str, Any] = {"intake": {"received": custody.now(), "channel": channel,
                                          "entered_by": editor}, "testimony": ""}
    if given is not None:
        private["consent_requested"] = given
    cases.write_private(repo, cid, private, keyring, cfg.recipient_fingerprints, editor)
    case = Case(meta=meta, narrative="")
    cases.save(repo, case)
    _log(repo, "created", case, editor, channel=channel)
    return case


# -- status changes ----------------------------------------------------------------------
def to_review(repo: Path, cfg: Config, case_id: str, editor: str) -> Outcome:
    """draft -> review: ready for the four-eyes check."""
    case = _load(repo, case_id)
    curation.check_transition(case, "review", "review")
    case.meta["status"] = "review"
    cases.save(repo, case)
    _log(repo, "review", case, editor)
    return Outcome(case.id, f"{case.id} is now in review. Next: `temoin case verify {case.id} "
                   "--level LEVEL`, then a second editor's `approve`.")


def reopen(repo: Path, cfg: Config, case_id: str, editor: str) -> Outcome:
    """review or rejected -> draft: back to work."""
    case = _load(repo, case_id)
    curation.check_transition(case, "draft", "reopen")
    case.meta["status"] = "draft"
    cases.save(repo, case)
    _log(repo, "reopened", case, editor)
    return Outcome(case.id, f"{case.id} is a draft again. Next: `temoin case edit {case.id}`.")


def risk_review(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
                today: dt.date, acknowledge_quotes: bool = False) -> Outcome:
    """Sign a `risk-review` decision: the risks of publishing this content (to victims,
    sources, witnesses) were reviewed. Only the signature satisfies the gate. With
    `acknowledge_quotes`, every verbatim run of the testimony the public text now holds was
    read and accepted (`curation.verbatim_quotes`): their ids go into the front matter
    (`review.quotes_acknowledged`, what `curation.unacknowledged_quotes` reads) and into the
    signed statement."""
    case = _load(repo, case_id)
    curation.check_working(case, "risk-review")
    _require_secret(keyring, editor, cfg, "a risk review")
    review = dict(case.meta.get("review") or {})
    review["risk_reviewed"] = today
    extra = {}
    if acknowledge_quotes:
        if not cases.private_path(repo, case.id).exists():
            raise CaseError(f"cases/{case.id}: acknowledging quotes needs the private part")
        runs = curation.verbatim_quotes(cases.dumps(case),
                                        cases.read_private(repo, case.id, keyring))
        extra["quotes_acknowledged"] = review["quotes_acknowledged"] = \
            sorted({curation.quote_id(r) for r in runs})
    case.meta["review"] = review
    curation.record_decision(repo, case, "risk-review", editor, keyring, today, **extra)
    cases.save(repo, case)
    _log(repo, "risk_reviewed", case, editor)
    return Outcome(case.id, f"Risk review of {case.id} signed ({today.isoformat()}, "
                   f"{cfg.editor_name(editor)}). Next: `temoin case publish {case.id}` once "
                   "verified and approved.")


def urgent(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
           today: dt.date, on: bool = True) -> Outcome:
    """Sign an `urgent` decision raising (or lifting) the urgent alert of a case: the alerts
    page, the home page and the feed show only a signed flag."""
    case = _load(repo, case_id)
    curation.check_working(case, "urgent")
    _require_secret(keyring, editor, cfg, "an urgent alert")
    case.meta["urgent"] = on
    curation.record_decision(repo, case, "urgent", editor, keyring, today, urgent=on)
    cases.save(repo, case)
    _log(repo, "urgent" if on else "urgent_lifted", case, editor)
    return Outcome(case.id, f"{'Raised' if on else 'Lifted'} the urgent alert of {case.id} "
                   f"({cfg.editor_name(editor)}); the next `temoin build` shows it.")


def verify(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str, level: str,
           note: str | None, today: dt.date) -> Outcome:
    """Set the verification level and sign a `verify` decision as `editor`; the note goes to
    the private part's verification_log (with date, editor and level), never public."""
    case = _load(repo, case_id)
    curation.check_working(case, "verify")
    if not vocab.is_term("verification", level):
        raise CaseError(f"level: expected one of {', '.join(vocab.terms('verification'))}, "
                        f"got {level!r}")
    _require_secret(keyring, editor, cfg, "a verification")
    name = cfg.editor_name(editor)
    approver = (case.meta.get("review") or {}).get("approved_by")
    notes = []
    with curation.CachedVerifier(repo) as check:
        approved_before = bool(approver) and curation.decision_valid(case, "approve", cfg,
                                                                     check)
        case.meta["verification"] = level
        approved_after = bool(approver) and curation.decision_valid(case, "approve", cfg,
                                                                    check)
    if approved_after and approver == editor:
        raise GateError([f"cases/{case.id}: {name} approved this content; four eyes: an "
                         f"editor other than {name} must verify it"], f"cannot verify {case.id}")
    if approved_before and not approved_after:
        notes.append(f"the approval by {cfg.editor_name(str(approver))} was for the previous "
                     "level: a second editor must approve again")
    private = cases.read_private(repo, case.id, keyring)
    log = private.get("verification_log") or []
    if not isinstance(log, list):
        raise CaseError(f"cases/{case.id}/private.yaml.asc: verification_log is not a list: "
                        f"fix it with `temoin case edit {case.id}`")
    private["verification_log"] = [*log, {"date": today.isoformat(), "editor": editor,
                                          "editor_name": name, "level": level, "note": note}]
    cases.write_private(repo, case.id, private, keyring, cfg.recipient_fingerprints, editor)
    curation.record_decision(repo, case, "verify", editor, keyring, today, level=level)
    cases.save(repo, case)
    _log(repo, "verified", case, editor, level=level)
    if vocab.level_rank(level) < vocab.level_rank(cfg.publish_min_level):
        nxt = (f"it cannot be published while {level}" if vocab.level_rank(level) < 0 else
               f"publishing needs {cfg.publish_min_level} or higher")
        return Outcome(case.id, f"Verified {case.id} as {level} ({name}); {nxt}.", notes)
    return Outcome(case.id, f"Verified {case.id} as {level} ({name}). Next: an editor other "
                   f"than {name} runs `temoin case approve {case.id}`.", notes)


def approve(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
            today: dt.date) -> Outcome:
    """Sign an `approve` decision as `editor`: needs a good verification of the current
    content by another editor (four eyes). A draft moves into review."""
    case = _load(repo, case_id)
    curation.check_working(case, "approve")
    name = cfg.editor_name(editor)
    review = case.meta.get("review") or {}
    verifier = review.get("verified_by")
    with curation.CachedVerifier(repo) as check:
        problems = curation.check_decision(case, "verify", verifier,
                                           cfg.recipient_fingerprints, check)
    if problems:
        raise GateError([*problems, f"verify first: `temoin case verify {case.id} --level "
                                    "LEVEL` (by another editor than the approver)"],
                        f"cannot approve {case.id}")
    if verifier == editor:
        raise GateError([f"cases/{case.id}: {name} verified this content; four eyes: an "
                         f"editor other than {name} must approve it"],
                        f"cannot approve {case.id}")
    _require_secret(keyring, editor, cfg, "an approval")
    if case.status == "draft":
        curation.check_transition(case, "review", "review")
        case.meta["status"] = "review"
    curation.record_decision(repo, case, "approve", editor, keyring, today)
    cases.save(repo, case)
    _log(repo, "approved", case, editor)
    with curation.CachedVerifier(repo) as check:
        missing = publish_problems(repo, cfg, keyring, case, check)
    line = f"Approved {case.id} ({name}; verified by {cfg.editor_name(str(verifier))})."
    if case.status == "published" and not missing:
        return Outcome(case.id, f"{line} It passes the gate again; next: `temoin case publish "
                       f"{case.id}` records the update.")
    if missing:
        return Outcome(case.id, f"{line} Before `temoin case publish {case.id}`, "
                       f"{len(missing)} condition(s) remain:", missing)
    return Outcome(case.id, f"{line} Next: `temoin case publish {case.id}`.")


def publish(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
            today: dt.date) -> Outcome:
    """review -> published (or re-publish after a new approval) if EVERY gate condition
    holds; else GateError (exit 4) listing each missing one."""
    case = _load(repo, case_id)
    curation.check_transition(case, "published", "publish")
    with curation.CachedVerifier(repo) as check:
        problems = publish_problems(repo, cfg, keyring, case, check)
    if problems:
        raise GateError(problems, f"cannot publish {case.id}; every condition must hold")
    _require_secret(keyring, editor, cfg, "a publication")
    again = case.status == "published"
    case.meta["status"] = "published"
    if again or case.meta.get("published"):
        case.meta["updated"] = today
    case.meta.setdefault("published", today)
    # The consent ceiling publish_problems checked: the public consent, never more (see
    # curation.consent); the build reads it here instead of decrypting the private part.
    payload = {"published": case.meta["published"],
               consent.PUBLISH_KEY: case.meta.get("consent")}
    if case.meta.get("updated"):
        payload["updated"] = case.meta["updated"]
    curation.record_decision(repo, case, "publish", editor, keyring, today, **payload)
    cases.save(repo, case)
    _log(repo, "published", case, editor)
    what = "counted in the statistics only (consent: aggregate_only)" \
        if case.meta.get("consent") == "aggregate_only" else "its page appears"
    return Outcome(case.id, f"{'Re-published' if again else 'Published'} {case.id}: {what} "
                   "at the next `temoin build`.")


def record_consent(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
                   ceiling: str, how: str, given_by: str, obtained: dt.date,
                   today: dt.date) -> Outcome:
    """Sign a consent statement: the source (or `given_by`) gave `ceiling` on `obtained`,
    `how`; it replaces the form's ceiling for the case's current content."""
    case = _load(repo, case_id)
    curation.check_working(case, "consent")
    try:
        payload = consent.payload(ceiling, how, given_by, obtained.isoformat())
    except ValueError as exc:
        raise CaseError(str(exc)) from None
    _require_secret(keyring, editor, cfg, "a consent statement")
    curation.record_decision(repo, case, consent.KIND, editor, keyring, today, **payload)
    _log(repo, "consent_recorded", case, editor)
    public = case.meta.get("consent")
    nxt = f"`temoin case publish {case.id}`" if consent.rank(public) <= consent.rank(
        ceiling) else f"`temoin case set {case.id} consent={ceiling}`"
    return Outcome(case.id, f"Consent statement of {case.id} signed: ceiling {ceiling} "
                   f"({how}, given by {given_by}, {obtained.isoformat()}; "
                   f"{cfg.editor_name(editor)}). "
                   f"Next: {nxt}.")


def dismiss(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str, text: str,
            today: dt.date) -> Outcome:
    """Sign a precision dismissal: `text` (a place or an age the precision gate refuses) may
    be public in this case's current content."""
    case = _load(repo, case_id)
    curation.check_working(case, "dismiss")
    text = " ".join(text.split())
    if not text:
        raise CaseError("--text: the exact text to accept, as it stands in the public text")
    if not any(text.casefold() in " ".join(t.split()).casefold()
               for _, t in precision.public_texts(case)):
        raise CaseError(f"--text: not found in the public text of {case.id} (give it exactly "
                        "as it stands there)")
    _require_secret(keyring, editor, cfg, "a precision dismissal")
    curation.record_statement(repo, case, precision.KIND, editor, keyring, today,
                              {"text": text}, name=precision.dismissal_name(text))
    _log(repo, "precision_dismissed", case, editor)
    return Outcome(case.id, f"Marked {text!r} public in {case.id} ({cfg.editor_name(editor)}).")


def withdraw(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
             reason: str, reason_en: str | None, today: dt.date) -> Outcome:
    """-> withdrawn with a public erratum reason {fr, en} (one text serves both unless
    `reason_en` is given). The next build drops the case and its totals."""
    case = _load(repo, case_id)
    curation.check_transition(case, "withdrawn", "withdraw")
    if not reason.strip():
        raise CaseError("--reason: say why (it is public: the erratum shows it)")
    _require_secret(keyring, editor, cfg, "a withdrawal")
    why = {"fr": reason.strip(), "en": (reason_en or reason).strip()}
    problems = _reason_problems(repo, cfg, keyring, case, why)
    if problems:
        raise GateError(problems, f"cannot withdraw {case.id} with this reason: it is public "
                        "(the erratum shows it) and a withdrawal is final; say it otherwise")
    was = case.status
    case.meta["status"] = "withdrawn"
    case.meta["withdrawn"] = {"date": today, "reason": why}
    written = curation.record_decision(repo, case, "withdraw", editor, keyring, today,
                                       reason=why, published=case.meta.get("published"))
    from temoin import trust

    trust.remember_withdrawn(repo, case.id, hashlib.sha256(written.read_bytes()).hexdigest())
    cases.save(repo, case)
    _log(repo, "withdrawn", case, editor)
    if was == "published":
        return Outcome(case.id, f"Withdrew {case.id}: the next `temoin build` removes its page "
                       "and lowers the totals (the reason is public, in the erratum).")
    return Outcome(case.id, f"Withdrew {case.id} (it was never published).")


def _reason_problems(repo: Path, cfg: Config, keyring: Keyring, case: Case,
                     why: dict[str, str]) -> list[str]:
    """What a withdrawal reason may not say: an exact age, a place finer than the case's
    precision, a part of its private places, any value of its private part."""
    private = cases.read_private(repo, case.id, keyring) \
        if cases.private_path(repo, case.id).exists() else None
    out = [f"--reason: {f.field}: {f.describe()}"
           for f in precision.reason_findings(case, cfg, why, private)]
    if private is not None:
        out += [f"--reason: holds a value of the private part ({field})"
                for field in curation.private_leaks("\n".join(why.values()), case.id, private,
                                                    case.meta)]
    return out


def reject(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str, reason: str,
           today: dt.date) -> Outcome:
    """draft/review -> rejected; the reason goes to the encrypted private part only."""
    case = _load(repo, case_id)
    curation.check_transition(case, "rejected", "reject")
    if not reason.strip():
        raise CaseError("--reason: say why (kept in the encrypted private part)")
    private = cases.read_private(repo, case.id, keyring)
    private["rejected"] = {"date": today.isoformat(), "editor": editor, "reason": reason}
    cases.write_private(repo, case.id, private, keyring, cfg.recipient_fingerprints, editor)
    case.meta["status"] = "rejected"
    cases.save(repo, case)
    _log(repo, "rejected", case, editor)
    return Outcome(case.id, f"Rejected {case.id} (reason kept encrypted). To reconsider: "
                   f"`temoin case reopen {case.id}`.")


def merge(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str, into_id: str,
          today: dt.date) -> Outcome:
    """`case_id` is another testimony of the event of `into_id`: its private entries
    (testimony, sources, evidence…) move into `into_id`'s private part, evidence files are
    copied, the public source count rises, and `case_id` becomes a duplicate of `into_id`."""
    if case_id == into_id:
        raise CaseError(f"cannot merge {case_id} into itself")
    dup, keep = _load(repo, case_id), _load(repo, into_id)
    curation.check_transition(dup, "duplicate", "merge")
    if keep.status not in curation.WORKING_STATES:
        raise WorkflowError(f"cases/{keep.id}: cannot merge into a case that is {keep.status}; "
                            "merge into a draft, review or published case")
    p_dup = cases.read_private(repo, dup.id, keyring)
    p_keep = cases.read_private(repo, keep.id, keyring)
    before = curation.content_hash(keep)
    # Evidence is sealed afresh for the kept case, under the name it has there (names are
    # keyed by case id), checked and signed by the merging editor: the same ciphertext in
    # both folders linked the unpublished duplicate to the kept case (attack round 3).
    key = vault.Vault(keyring, cfg.recipient_fingerprints).id_key(repo)
    moved: list[tuple[Path, Path]] = []
    evidence = list(p_keep.get("evidence") or [])
    known = {e.get("sha256") for e in evidence if isinstance(e, dict)}
    for e in p_dup.get("evidence") or []:
        sha = e.get("sha256") if isinstance(e, dict) else None
        if not isinstance(e, dict) or not isinstance(sha, str):
            evidence.append(e)  # malformed: kept as it is, for `temoin check` to name
            continue
        src = cases.evidence_file(repo, dup.id, e)
        dst = cases.evidence_path(repo, keep.id, sha, key)
        if src.is_file() and not dst.exists():
            cases.write_evidence(repo, keep.id, cases.read_evidence(repo, dup.id, e, keyring),
                                 keyring, cfg.recipient_fingerprints, editor, key)
        moved.append((src, dst))
        if sha not in known:
            evidence.append({**e, "file": dst.name, "from_case": dup.id})
    if evidence:
        p_keep["evidence"] = evidence
    dup_sources = p_dup.get("sources")
    if isinstance(dup_sources, list):
        keep_sources = p_keep.get("sources")
        p_keep["sources"] = [*(keep_sources if isinstance(keep_sources, list) else []),
                             *dup_sources]
    rest = {k: v for k, v in p_dup.items() if k != "evidence" and not (
        k == "sources" and isinstance(v, list))}
    p_keep["merged"] = [*(p_keep.get("merged") or []),
                        {"case": dup.id, "date": today.isoformat(), "editor": editor, **rest}]
    pub_keep = dict(keep.meta.get("sources") or {})
    pub_dup = dup.meta.get("sources") or {}
    pub_keep["count"] = int(pub_keep.get("count") or 0) + max(int(pub_dup.get("count") or 0), 1)
    types = [*(pub_keep.get("types") or []), *(pub_dup.get("types") or [])]
    if types:
        pub_keep["types"] = list(dict.fromkeys(types))
    keep.meta["sources"] = pub_keep
    cases.write_private(repo, keep.id, p_keep, keyring, cfg.recipient_fingerprints, editor)
    cases.save(repo, keep)
    cases.write_private(repo, dup.id, {"merged_into": keep.id, "date": today.isoformat()},
                        keyring, cfg.recipient_fingerprints, editor)
    for src, dst in moved:  # moved: one place holds the confidential files
        if dst.is_file():
            src.unlink(missing_ok=True)
    dup.meta["status"] = "duplicate"
    dup.meta["duplicate_of"] = keep.id
    cases.save(repo, dup)
    custody.append(repo, "merged", case=dup.id, into=keep.id, editor=editor,
                   content_sha256=curation.content_hash(keep))
    notes = [f"sources.count of {keep.id} is now {pub_keep['count']}; set "
             f"sources.independent if this testimony is independent (`temoin case set "
             f"{keep.id} sources.independent=N`)"]
    if keep.status == "published" and curation.content_hash(keep) != before:
        notes.append(f"{keep.id} is published and its content changed: it is off the site, "
                     "and `temoin build` refuses, until it is verified and approved again "
                     f"(`temoin case verify {keep.id} --level LEVEL`, a second editor's "
                     f"`approve`, then `publish`)")
    return Outcome(dup.id, f"Merged {dup.id} into {keep.id}: {dup.id} is now a duplicate; its "
                   f"testimony, sources and evidence are in {keep.id}'s private part.", notes)
