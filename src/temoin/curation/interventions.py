"""Interventions on a case and their follow-up (HURIDOCS ESF "intervention").

Each intervention lives in the case's PRIVATE part (`interventions:` in private.yaml.asc):

    {id: i1, type: urgent_appeal, addressed_to: "…", date: 2025-10-06, status: sent,
     response: null, outcome: null, public_summary: {fr: "…", en: "…"}, updated: 2025-10-06}

Who it was addressed to, what they answered and what came of it stay confidential. The only
thing that may become public is the editor's own `public_summary`, copied into the case's
front matter as `interventions: [{date, type, summary: {fr, en}}]` when, and only when, the
case's publication consent is `anonymised` or `named` (`public_entries`). The front-matter list
is a workflow field (`curation.WORKFLOW_KEYS`): adding one does not unpublish a published case,
and the build's canary gate still scans the pages it reaches.

Follow-up (`overdue`): an intervention that is `planned` or `sent` and older than the
configured `follow_up_days` awaits a response; cases whose victims include a child or a
survivor of sexual violence come first, then the longest wait.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cases as cases_mod
from temoin import custody
from temoin.cases import vocab
from temoin.config import Config
from temoin.errors import CaseError, WorkflowError
from temoin.keys import vault
from temoin.keys.signers import Signers

if TYPE_CHECKING:
    from temoin.keys import Keyring

KEY = "interventions"
FIELDS = ("id", "type", "addressed_to", "date", "status", "response", "outcome",
          "public_summary", "updated")
AWAITING = ("planned", "sent")        # statuses that still wait for an answer
PUBLIC_CONSENTS = frozenset({"anonymised", "named"})
SEXUAL_VIOLENCE = "sgbv"              # vocab category of acts of sexual violence


# -- one record ---------------------------------------------------------------------------
def _text(value: Any, what: str, where: str) -> str | None:
    """Free text from an editor: None/empty stays None; control characters are refused."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise CaseError(f"{where}: {what}: expected text without control characters")
    return value.strip() or None


def summary(fr: str | None, en: str | None, where: str = "") -> dict[str, str] | None:
    """A public summary {fr, en}; one language given is used for both (a page shows each
    language, and an empty one would hide the entry there)."""
    fr, en = _text(fr, "summary (fr)", where), _text(en, "summary (en)", where)
    if not fr and not en:
        return None
    return {"fr": fr or en or "", "en": en or fr or ""}


def problems(record: Any, where: str) -> list[str]:
    """Schema problems of one private intervention record ('where: field: expected …')."""
    if not isinstance(record, dict):
        return [f"{where}: expected a mapping, got {type(record).__name__}"]
    out = []
    for k in record:
        if k not in FIELDS:
            out.append(f"{where}.{k}: expected one of {', '.join(FIELDS)}")
    if not vocab.is_term("intervention_types", record.get("type")):
        out.append(f"{where}.type: expected one of "
                   f"{', '.join(vocab.terms('intervention_types'))}, got {record.get('type')!r}")
    if not vocab.is_term("intervention_status", record.get("status")):
        out.append(f"{where}.status: expected one of "
                   f"{', '.join(vocab.terms('intervention_status'))}, "
                   f"got {record.get('status')!r}")
    day = record.get("date")
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        out.append(f"{where}.date: expected a date YYYY-MM-DD, got {day!r}")
    if not record.get("addressed_to"):
        out.append(f"{where}.addressed_to: expected who it was addressed to, got nothing")
    ps = record.get("public_summary")
    if ps is not None and not (isinstance(ps, dict) and set(ps) <= set(vocab.LANGS)
                               and all(isinstance(v, str) for v in ps.values())):
        out.append(f"{where}.public_summary: expected {{fr: …, en: …}}")
    return out


def records(private: dict[str, Any]) -> list[dict[str, Any]]:
    """The private part's intervention records (a list, possibly empty)."""
    found = private.get(KEY) or []
    if not isinstance(found, list):
        raise CaseError(f"private part: {KEY}: expected a list, got {type(found).__name__}")
    return found


def find(private: dict[str, Any], iv_id: str, case_id: str = "") -> dict[str, Any]:
    for rec in records(private):
        if isinstance(rec, dict) and rec.get("id") == iv_id:
            return rec
    known = ", ".join(str(r.get("id")) for r in records(private) if isinstance(r, dict))
    raise CaseError(f"case {case_id}: no intervention {iv_id!r} (recorded: {known or 'none'}); "
                    "see `temoin case show ID --private`")


def add(private: dict[str, Any], *, kind: str, addressed_to: str, day: dt.date,
        status: str = "sent", response: str | None = None, outcome: str | None = None,
        public_summary: dict[str, str] | None = None, today: dt.date | None = None,
        where: str = "") -> dict[str, Any]:
    """Append a new intervention record to `private` (in memory) and return it."""
    existing = records(private)
    taken = {str(r.get("id")) for r in existing if isinstance(r, dict)}
    n = len(existing) + 1
    while f"i{n}" in taken:
        n += 1
    record = {"id": f"i{n}", "type": kind, "addressed_to": _text(addressed_to, "--to", where),
              "date": day, "status": status, "response": _text(response, "response", where),
              "outcome": _text(outcome, "outcome", where), "public_summary": public_summary,
              "updated": today or dt.date.today()}
    found = problems(record, f"{where}{KEY}[{n - 1}]")
    if found:
        raise CaseError("\n".join(found))
    private[KEY] = [*existing, record]
    return record


def update(private: dict[str, Any], iv_id: str, *, status: str | None = None,
           response: str | None = None, outcome: str | None = None,
           public_summary: dict[str, str] | None = None, day: dt.date | None = None,
           today: dt.date | None = None, case_id: str = "") -> dict[str, Any]:
    """Record a response, outcome, new status or summary on an existing intervention.

    A response without an explicit status moves a planned/sent intervention to `responded`
    (it no longer awaits one)."""
    rec = find(private, iv_id, case_id)
    where = f"case {case_id}: intervention {iv_id}"
    if response is not None:
        rec["response"] = _text(response, "response", where)
        if status is None and rec.get("status") in AWAITING:
            status = "responded"
    if outcome is not None:
        rec["outcome"] = _text(outcome, "outcome", where)
    if status is not None:
        rec["status"] = status
    if public_summary is not None:
        rec["public_summary"] = public_summary
    if day is not None:
        rec["date"] = day
    rec["updated"] = today or dt.date.today()
    found = problems(rec, where)
    if found:
        raise CaseError("\n".join(found))
    return rec


# -- the public list ----------------------------------------------------------------------
def public_entries(meta: dict[str, Any], private: dict[str, Any]) -> list[dict[str, Any]]:
    """Front-matter `interventions` for this case: only the editors' public summaries, only
    when the publication consent allows a page. Never addressed_to, response or outcome."""
    if meta.get("consent") not in PUBLIC_CONSENTS:
        return []
    out = []
    for rec in records(private):
        ps = rec.get("public_summary") if isinstance(rec, dict) else None
        if not ps or not any(ps.values()):
            continue
        out.append({"date": rec["date"], "type": rec["type"],
                    "summary": {k: v for k, v in ps.items() if k in vocab.LANGS and v}})
    out.sort(key=lambda e: (e["date"], e["type"]))
    return out


def sync(case: cases_mod.Case, private: dict[str, Any]) -> bool:
    """Set the case's front-matter list from its private records; True if it changed."""
    entries = public_entries(case.meta, private)
    before = case.meta.get(KEY) or []
    if entries == before:
        return False
    if entries:
        case.meta[KEY] = entries
    else:
        case.meta.pop(KEY, None)
    return True


@dataclass(frozen=True)
class Recorded:
    """What `record` did: the intervention and whether it is on the public page."""

    case_id: str
    intervention: dict[str, Any]
    public: bool
    front_matter_changed: bool


def record(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str, *,
           iv_id: str | None = None, today: dt.date | None = None,
           **values: Any) -> Recorded:
    """Add (iv_id None) or update an intervention: private part re-encrypted to every
    editor, front-matter summary list re-derived, one custody entry (ids only)."""
    case = cases_mod.load(repo, case_id)
    if case.status == "duplicate":
        raise WorkflowError(f"case {case_id} is a duplicate of {case.meta.get('duplicate_of')}: "
                            "record the intervention on the kept case")
    private = cases_mod.read_private(repo, case_id, keyring)
    where = f"case {case_id}: "
    if iv_id is None:
        rec = add(private, today=today, where=where, **values)
        action = "intervention"
    else:
        rec = update(private, iv_id, today=today, case_id=case_id, **values)
        action = "intervention_updated"
    cases_mod.write_private(repo, case_id, private, keyring, cfg.recipient_fingerprints, editor)
    changed = sync(case, private)
    if changed:
        # The public summaries are shown only as signed (issue 16): sign the list as it is.
        from temoin import curation

        curation.record_decision(repo, case, "interventions", editor, keyring,
                                 today or dt.date.today(),
                                 entries=list(case.meta.get(KEY) or []))
        cases_mod.save(repo, case)
    public = bool(rec.get("public_summary")) and case.meta.get("consent") in PUBLIC_CONSENTS
    custody.append(repo, action, case=case_id, editor=editor, intervention=rec["id"],
                   type=rec["type"], status=rec["status"], public=public)
    return Recorded(case_id, rec, public, changed)


# -- follow-up ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FollowUp:
    """One intervention that awaits a response past the delay."""

    case_id: str
    intervention: str
    type: str
    status: str
    date: dt.date
    days: int                      # days since `date`
    priority: tuple[str, ...]      # "child", "sexual_violence": why it comes first

    def as_json(self) -> dict[str, Any]:
        return {"case": self.case_id, "intervention": self.intervention, "type": self.type,
                "status": self.status, "date": self.date.isoformat(), "days": self.days,
                "priority": list(self.priority)}


def priority(case: cases_mod.Case) -> tuple[str, ...]:
    """Why a case's follow-up comes first: a child victim, a survivor of sexual violence."""
    why = []
    victims = [v for v in case.meta.get("victims") or [] if isinstance(v, dict)]
    if any(v.get("age_group") == "child" for v in victims):
        why.append("child")
    acts = [a for a in case.meta.get("acts") or [] if isinstance(a, dict)]
    if any(vocab.category(str(a.get("type"))) == SEXUAL_VIOLENCE for a in acts):
        why.append("sexual_violence")
    return tuple(why)


def due(case: cases_mod.Case, private: dict[str, Any], delay: int,
        today: dt.date) -> list[FollowUp]:
    """The case's interventions awaiting a response for more than `delay` days."""
    out = []
    for rec in records(private):
        if not isinstance(rec, dict) or rec.get("status") not in AWAITING:
            continue
        day = rec.get("date")
        if not isinstance(day, dt.date):
            continue
        waited = (today - day).days
        if waited > delay:
            out.append(FollowUp(case.id, str(rec.get("id")), str(rec.get("type")),
                                str(rec.get("status")), day, waited, priority(case)))
    return out


def overdue(repo: Path, cfg: Config, keyring: Keyring, today: dt.date | None = None,
            only: Collection[str] | None = None) -> list[FollowUp]:
    """Every intervention awaiting a response past `cfg.follow_up_days`, most urgent first:
    children and survivors of sexual violence, then the longest wait, then case id.
    `only`: restrict to these case ids (e.g. the cases `case list` filters chose).

    The statuses are confidential, so each case's private part is decrypted (in memory)."""
    today = day = today or dt.date.today()
    all_cases, _problems = cases_mod.load_all(repo, strict=False)
    todo = [c for c in all_cases if (only is None or c.id in only) and c.status != "duplicate"
            and cases_mod.private_path(repo, c.id).exists()]
    # One gpg run decrypts them all and checks each part's inner signature (issue 16).
    with Signers.for_repo(repo, cfg) as signers:
        parts, refused = cases_mod.read_privates(
            repo, [c.id for c in todo], vault.Vault(keyring, cfg.recipient_fingerprints),
            signers)
    if refused:
        raise cases_mod.PartsRefused(list(refused.values()))
    found = [f for case in todo for f in due(case, parts.get(case.id) or {},
                                              cfg.follow_up_days, day)]
    found.sort(key=lambda f: (not f.priority, -f.days, f.case_id, f.intervention))
    return found
