"""The publication gate (DESIGN §5): every reason a case may not be published
(`gate_problems`: workflow, anonymisation, precision, signed decisions, withdrawals), the case
as the public may see it (`public_view`), which cases are released (`partition`), and the
private values and verbatim quotes a public text must not hold."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from temoin import cases as cases_mod
from temoin.cases import Case, schema, vocab
from temoin.config import Config
from temoin.curation import consent, decisions, precision
from temoin.curation.verifier import (
    DECISIONS,
    REVIEW,
    CachedVerifier,
    Verifier,
    content_hash,
    decision_field,
    decision_paths,
    judged,
    signed,
)

if TYPE_CHECKING:
    from temoin.cache import StatCache


SENSITIVE_CATEGORIES = frozenset({"sgbv"})
PUBLIC_CONSENTS = frozenset({"anonymised", "named"})


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
        # As the site shows it: the intervention summaries of the signed decision (the
        # only text public_view changes; looked up only where there are some).
        shown = public_view(case, cfg, verify, files) if verify is not None and (
            meta.get("interventions") or decisions.present(case.folder / REVIEW,
                                                           "interventions")) else case
        problems.extend(precision.problems(shown, cfg, verify, files=files))
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
        problems.extend(undone_withdrawal(case, cfg, verify.seen_withdrawn() if
                                          isinstance(verify, CachedVerifier) else None))
    return problems


def undone_withdrawal(case: Case, cfg: Config, seen: dict[str, str] | None = None
                      ) -> list[str]:
    """A case this machine has seen withdrawn by a signed decision that no longer has one:
    a withdrawal is final, so deleting it (or restoring the case as it was before) makes
    nothing public again (`trust.seen_withdrawn`)."""
    from temoin import trust

    sha = (trust.seen_withdrawn(cfg.repo) if seen is None else seen).get(case.id)
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


def withdrawn_cases(all_cases: Iterable[Case], cfg: Config, verify: Verifier | None,
                    refused: dict[str, list[str]] | None = None) -> list[Case]:
    """Withdrawn cases as the errata show them: a signed withdrawal's date, reason and the
    publication date it records (a hand-set `status: withdrawn` adds no erratum). A reason
    that states an exact age or a place finer than the case's precision is not shown (a
    withdrawal is final: it cannot be written again); `refused` gets why, by case id."""
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
        found = precision.reason_findings(case, cfg, reason, memo=verify.precision if
                                          isinstance(verify, CachedVerifier) else None)
        if found:
            reason = {}
            if refused is not None:
                refused.setdefault(case.id, []).extend(
                    f"cases/{case.id}/{REVIEW}/withdraw.json: {f.field}: {f.describe()}: "
                    "the erratum shows no reason" for f in found)
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
    from temoin.gates import matching

    return matching.shared_runs(public_text, can.private_texts(private), QUOTE_WORDS)


def unacknowledged_quotes(case: Case, runs: list[str]) -> list[str]:
    """THE check of verbatim quotes (one place, so that it can move onto the signed risk
    statement): each run not acknowledged in the risk review (`review.quotes_acknowledged`,
    ids from `quote_id`), as a problem naming the file and the run's id."""
    acknowledged = set((case.meta.get("review") or {}).get("quotes_acknowledged") or [])
    return [f"cases/{case.id}/case.md: quotes the private testimony verbatim "
            f"({len(r.split())} words, quote {quote_id(r)}: \"{r}\"): rephrase it, or "
            f"acknowledge it in the risk review (`temoin case risk-review {case.id} "
            "--acknowledge-quotes`)" for r in runs if quote_id(r) not in acknowledged]
