"""What stands between a case and its publication now, as `case approve` and `case publish`
see it: the gate as if published, the consent ceiling, private values in the public side."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cases, curation
from temoin.cases import Case
from temoin.config import Config
from temoin.curation import consent, precision

if TYPE_CHECKING:
    from temoin.gates import Canary
    from temoin.keys import Keyring


def publish_problems(repo: Path, cfg: Config, keyring: Keyring | None, case: Case,
                     check: curation.Verifier) -> list[str]:
    """Every reason `case` could not be published now (the gate as if it were published,
    plus, from the private part: private values in the public text, the consent ceiling the
    source gave and the parts of its exact places)."""
    # The gates (their HTML parser, PIL…) when a case is judged, not in every `temoin case`
    # command that imports this module through curation.steps; missing, they stop it here.
    from temoin import gates
    from temoin.curation import canary_dismissal

    cand = Case(meta=copy.deepcopy(case.meta), narrative=case.narrative, folder=case.folder)
    cand.meta["status"] = "published"
    private = cases.read_private(repo, case.id, keyring) if keyring is not None and \
        cases.private_path(repo, case.id).exists() else None
    problems = [p for p in curation.release_problems(cand, cfg, check)
                if "no signed publish decision" not in p and "publish.json" not in p
                and consent.MARK not in p]
    content = curation.content_hash(cand)
    problems += consent.publish_problems(cand, private, cfg.recipient_fingerprints, check,
                                         content)
    if private is not None:
        own = canary_dismissal.allow(repo, cfg, [cand], gates.own_canaries(
            case.id, private, case.meta), keyring, check)
        problems += private_problems(cand, private, own)
        if cand.meta.get("consent") != "aggregate_only":
            accepted = precision.accepted_texts(cand, cfg.recipient_fingerprints, check,
                                                content)
            shown = set(problems)
            problems += [m for m in (f.message(case.id) for f in precision.findings(
                cand, cfg, private, accepted) if f.rule == "private-place") if m not in shown]
    return problems


def private_problems(case: Case, private: dict[str, Any],
                     own: list[Canary] | None = None) -> list[str]:
    """What of the private part the case's public side would show: its values in any form
    in case.md or in a media file's name (the build's matcher), and verbatim runs of the
    testimony not acknowledged in the risk review. `own`: the case's canaries with its
    signed dismissals applied (`canary_dismissal.allow`); default, none applied."""
    from temoin import gates
    from temoin.curation import canary_dismissal

    if own is None:
        own = gates.own_canaries(case.id, private, case.meta)
    match = gates.matcher(own)
    public = cases.dumps(case)
    problems = [f"cases/{case.id}/case.md: holds a value of the private part ({f}): remove "
                f"it from the public text ({canary_dismissal.hint(case.id)})"
                for f in gates.text_leaks(match, public)]
    media = case.folder / "media" if case.folder else None
    names = sorted({str(m.get("file")) for m in case.meta.get("media") or []
                    if isinstance(m, dict)} | ({p.name for p in media.iterdir()}
                                               if media is not None and media.is_dir() else set()))
    problems += [f"cases/{case.id}/media/{name}: the file name holds a value of the private "
                 f"part ({f}): rename the file" for name in names
                 for f in gates.text_leaks(match, name, is_markup=False)]
    return problems + curation.unacknowledged_quotes(
        case, curation.verbatim_quotes(public, private))
