"""Repository-level canary gate (`temoin check`): no private value in any case file.

The build refuses a site that shows a private value; this gate looks one step earlier, at
what the repository holds in plaintext: every `case.md` (front matter and narrative) and
every media file's name. It uses the build's canaries (`canary_source`: the private parts,
decrypted once and cached encrypted), the same curation (`gates.curate`: only reviewed
private parts guard every file; a draft's values are checked against its own text and
reported) and the same matcher (`gates.matcher`). It needs an editor's secret key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temoin import cases as cases_mod
from temoin import gates
from temoin.config import Config
from temoin.gates import canary_source
from temoin.keys import Keyring

NAME = "canaries on case files"
# What `curation.canary_dismissal.hint` says (gates come before curation: a copy).
HINT = ("if a word refused is one part of a private name that is also a public figure's "
        "name, and the case's own text names that figure, an editor may sign `temoin case "
        "dismiss {id} --canary WORD --reason …`")


@dataclass
class Outcome:
    """What the gate refused (problems) and what it only reports (notices)."""

    problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def has_editor_key(cfg: Config, keyring: Keyring | None) -> bool:
    """Whether `keyring` holds the secret key of an editor in `recipients`."""
    return keyring is not None and any(keyring.has_secret(f)
                                       for f in cfg.recipient_fingerprints)


def check(repo: Path, cfg: Config, keyring: Keyring,
          allow: Callable[[list[Any], list[gates.Canary]], list[gates.Canary]] | None = None
          ) -> Outcome:
    """Every reviewed private value found in any case.md or media file name, by file and
    field; notices for values not usable as canaries and for drafts' own text. `allow`
    (all cases, canaries) -> canaries: the signed dismissals applied (the caller, in
    `curation`, verifies them: `canary_dismissal.allow`)."""
    repo = Path(repo)
    all_cases, _problems = cases_mod.load_all(repo, strict=False)  # `check` reports those
    try:
        found = canary_source.canaries(repo, [c.id for c in all_cases], keyring,
                                       cfg.recipient_fingerprints)
    except cases_mod.PartsRefused as exc:  # a part nobody the trust root names signed
        return Outcome(problems=[*exc.problems, f"{NAME}: not run while a private part is "
                                 "refused (its values would not be known)"])
    curated = gates.curate(found, all_cases, gates.organisation_strings(cfg))
    out = Outcome(notices=curated.notices)
    if not curated.guard:
        return out
    guard = allow(all_cases, curated.guard) if allow is not None else curated.guard
    match = gates.matcher(guard)
    for case in all_cases:
        where = f"cases/{case.id}"
        for _gate, detail in sorted(gates.find(match, gates.case_text(case))):
            out.problems.append(f"{where}/case.md: {detail}: remove it from the public text "
                                f"({HINT.format(id=case.id)})")
        media = repo / "cases" / case.id / "media"
        for f in sorted(media.iterdir()) if media.is_dir() else []:
            for _gate, detail in sorted(gates.find(match, f.name, is_markup=False)):
                out.problems.append(f"{where}/media/{f.name}: the file name holds a "
                                    f"{detail}: rename the file")
    return out
