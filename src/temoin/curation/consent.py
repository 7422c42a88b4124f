"""The consent ceiling (issue 15, item 5): the public `consent` never exceeds what the source
gave, unless an editor records, signed, that the source gave more.

- The **ceiling** is the consent the source gave: the submission form's answer
  (`consent_requested` in the private part, written by ingest, or by `temoin case new
  --consent` when an editor takes a testimony in person), else `none`.
- A **signed consent statement** (decision kind `consent`, `review/consent.json`) replaces
  it: payload `ceiling` (the new ceiling), `how` (how it was obtained: a code of
  `HOW`), `given_by` (who gave it: a code of `GIVEN_BY`) and `obtained` (when). The editor
  who signs is who recorded it. Codes, not free text: the statement is stored in plaintext
  in the repository, which must reveal no more than the site (no name, place or phone).
  Like every decision it names the case's content hash it was signed on; like a withdrawal
  it holds whatever the content becomes (it records what a person gave, and `verify`
  itself changes the content). A newer statement replaces it (one file a case).
- `temoin case publish` reads the ceiling from the private part (or the statement) and
  refuses a case whose public consent exceeds it; the publish decision then records
  `consent_ceiling`: the public consent it checked, never more (the repository does not
  say that a source would have accepted more than what the site shows). The build, which
  reads no private part for this, requires that the publish decision's (or a newer
  consent statement's) ceiling covers the public consent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from temoin.curation import decisions

if TYPE_CHECKING:
    from temoin.cache import StatCache
    from temoin.cases import Case

KIND = "consent"
ORDER = ("none", "aggregate_only", "anonymised", "named")
HOW = ("in_person", "phone", "secure_message", "written_form", "intermediary")
GIVEN_BY = ("victim", "source", "family", "legal_representative")
PUBLISH_KEY = "consent_ceiling"  # in the publish decision's payload
# Every ceiling refusal contains this, so `case publish` can tell build-time ones apart.
MARK = "exceeds the consent the source gave"


def rank(consent: object) -> int:
    """Position on none < aggregate_only < anonymised < named; -1 for anything else."""
    return ORDER.index(consent) if consent in ORDER else -1


def form_ceiling(private: dict[str, Any] | None) -> str:
    """The consent the source gave in the form (or told the editor at intake), else none."""
    given = (private or {}).get("consent_requested")
    return given if isinstance(given, str) and given in ORDER else "none"


def command(case_id: str, consent: str) -> str:
    return (f"`temoin case consent {case_id} --ceiling {consent} --how HOW --given-by WHO` "
            f"(HOW: {'|'.join(HOW)}; WHO: {'|'.join(GIVEN_BY)})")


def statement(case: Case, editors: Iterable[str], verify: decisions.Verifier,
              content: str, files: StatCache | None = None) -> decisions.Decision | None:
    """The case's signed consent statement if one counts, else None."""
    from temoin import curation

    if not decisions.present(case.folder / curation.REVIEW, KIND):
        return None
    found = curation.signed(case, KIND, editors, verify, content, files)
    if found is None or found.payload.get("ceiling") not in ORDER:
        return None
    return found


def problem(case: Case, ceiling: str, where_from: str) -> list[str]:
    """The refusal when the public consent exceeds `ceiling` (else [])."""
    public = case.meta.get("consent")
    if rank(public) <= rank(ceiling):
        return []
    return [f"cases/{case.id}/case.md: consent: {public} {MARK} ({ceiling}, {where_from}); "
            f"lower it (`temoin case set {case.id} consent={ceiling}`) or record the "
            f"source's signed consent: {command(case.id, str(public))}"]


def build_problems(case: Case, editors: Iterable[str], verify: decisions.Verifier,
                   content: str, publish: decisions.Decision | None,
                   files: StatCache | None = None) -> list[str]:
    """The build's check, from signed statements only: a consent statement's ceiling, else
    the ceiling the publish decision recorded (a publish decision without one: none)."""
    found = statement(case, editors, verify, content, files)
    if found is not None:
        return problem(case, str(found.payload["ceiling"]), "signed consent statement")
    if publish is None:
        return []  # not published: the gate says so already
    ceiling = publish.payload.get(PUBLISH_KEY)
    ceiling = ceiling if ceiling in ORDER else "none"
    return problem(case, str(ceiling), "as recorded by the signed publish decision")


def publish_problems(case: Case, private: dict[str, Any] | None, editors: Iterable[str],
                     verify: decisions.Verifier, content: str) -> list[str]:
    """`case publish`'s check: a consent statement's ceiling, else the form's."""
    found = statement(case, editors, verify, content)
    if found is not None:
        return problem(case, str(found.payload["ceiling"]), "signed consent statement")
    where = "the submission form" if (private or {}).get("consent_requested") in ORDER \
        else "none recorded"
    return problem(case, form_ceiling(private), where)


def payload(ceiling: str, how: str, given_by: str, obtained: str) -> dict[str, Any]:
    """A consent statement's payload, checked (ValueError naming what is wrong)."""
    for name, value, allowed in (("ceiling", ceiling, ORDER), ("how", how, HOW),
                                 ("given-by", given_by, GIVEN_BY)):
        if value not in allowed:
            raise ValueError(f"--{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return {"ceiling": ceiling, "how": how, "given_by": given_by, "obtained": obtained}
