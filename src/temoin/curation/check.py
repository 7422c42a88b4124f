"""`temoin check`: validate a whole repository and report every problem, not the first."""

from __future__ import annotations

from pathlib import Path

from temoin import cases as cases_mod
from temoin import config as config_mod
from temoin import curation, custody
from temoin.errors import ConfigError


def run(repo: Path) -> list[str]:
    """Every problem in the repo: settings, cases, workflow, signatures, keys, custody."""
    repo = Path(repo)
    try:
        cfg = config_mod.load(repo)
    except ConfigError as exc:
        return exc.message.splitlines()[1:] or [exc.message]
    from temoin import trust

    problems: list[str] = trust.problems(repo)
    all_cases, load_problems = cases_mod.load_all(repo, strict=False)
    problems += load_problems
    by_id = {c.id: c for c in all_cases}
    editor_files = curation.editor_key_files(repo)
    if cfg.recipients and not editor_files:
        problems.append("keys/editors/: no editor public key; `temoin keys import FILE --as "
                        "editor` copies them here so any clone can verify approvals")
    with curation.CachedVerifier(repo) as verify:
        for case in all_cases:
            where = f"cases/{case.id}"
            status = case.status
            if status == "published":
                problems += curation.release_problems(case, cfg, verify)
            elif status == "duplicate":
                target = case.meta.get("duplicate_of")
                if target not in by_id:
                    problems.append(f"{where}: duplicate_of: expected the id of a kept case, "
                                    f"got {target!r}")
            elif status == "withdrawn" and not case.meta.get("withdrawn"):
                problems.append(f"{where}: withdrawn: expected {{date, reason}} (the erratum), "
                                "got nothing")
            # Hand edits of workflow fields change nothing public; say so.
            problems += [p for p in curation.hand_edits(case, cfg, verify)
                         if status != "published" or "status: published" not in p]
            # Decisions restored from history, made beside the chain, or rolled back.
            review = case.folder / curation.REVIEW
            if review.is_dir():
                problems += [p for p in verify.chain(review, case.id,
                                                     cfg.recipient_fingerprints).problems
                             if p not in problems]
            if status == "review":
                problems += curation.anonymisation_problems(case, cfg)
    for plain in sorted((repo / "cases").glob("*/private.y*ml")):
        problems.append(f"{plain.relative_to(repo)}: confidential part in PLAINTEXT: encrypt "
                        "it (`temoin case edit`) and delete this file")
    problems += custody.verify(repo)
    return problems
