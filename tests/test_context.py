"""The site generation context (`site.context.Generation`): generators share no module
state and never change the cases they are given (issue 14, item 3)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from temoin import config
from temoin.cases import Case
from temoin.site import counts, engine, generate
from temoin.site.context import Generation
from temoin.site.preview import Preview
from tests import report_fixtures as rf

Snapshot = list[tuple[Case, dict[str, Any], str, Path]]


def _watch_generation(monkeypatch: pytest.MonkeyPatch) -> list[Snapshot]:
    """Every case each generation is handed, with a deep copy of it taken before."""
    taken: list[Snapshot] = []
    real = generate.generate

    def watched(inp: generate.SiteInput, *args: Any, **kwargs: Any) -> Any:
        seen = {id(c): c for c in [*inp.all_cases, *inp.published, *inp.aggregate,
                                   *inp.withdrawn]}
        taken.append([(c, copy.deepcopy(c.meta), c.narrative, c.folder)
                      for c in seen.values()])
        return real(inp, *args, **kwargs)

    monkeypatch.setattr(generate, "generate", watched)
    return taken


def _changed(snapshot: Snapshot) -> list[str]:
    return [c.id for c, meta, narrative, folder in snapshot
            if c.meta != meta or c.narrative != narrative or c.folder != folder]


def test_a_build_and_preview_rebuilds_leave_every_case_as_loaded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", rf.EPOCH)
    repo = rf.make_repo(tmp_path)
    rf.make_set(repo)  # published, aggregate-only, named, late, urgent, withdrawn cases
    taken = _watch_generation(monkeypatch)
    with rf.editors_env(repo):  # the withdrawn case is sealed to the editors
        engine.run_mkdocs(repo, tmp_path / "site", verify_signatures=False)
        preview = Preview(repo, tmp_path / "preview", verify_signatures=False)
        preview.build()
        preview.build()  # a rebuild: results come from the memo, by the same Case objects
    assert len(taken) == 3 and all(len(s) > 26 for s in taken)
    assert preview.state.memo.hits > 0
    for snapshot in taken:
        assert _changed(snapshot) == []


def test_generations_share_nothing(tmp_path: Path) -> None:
    """Two generations side by side (no module-level memo): each makes its own records,
    once a case, and a plain one keeps nothing for later."""
    repo = rf.make_repo(tmp_path)
    rf.make_set(repo, n=3)
    with rf.editors_env(repo):  # the withdrawn case is sealed to the editors
        inp = generate.collect(repo, config.load(repo), None)
    case = inp.published[0]
    one, two = Generation(), Generation()
    assert one.records(case) is one.records(case)
    assert two.records(case) is not one.records(case)
    assert two.records(case) == one.records(case) == counts.records(case)
    assert not one.remembers and one.get("t", (case,), None, lambda: 1) == 1
    assert one.get("t", (case,), None, lambda: 2) == 2



def test_a_build_leaves_none_of_its_pages_in_memory(tmp_path: Path) -> None:
    """Once `run_mkdocs` returns, no page or file of the build is still held: MkDocs keeps
    the last build's plugins alive, and the gates (and the workers they fork) ran with
    every page, navigation and case page of the site in memory (issue 18)."""
    import gc

    from mkdocs.structure.files import File
    from mkdocs.structure.pages import Page

    repo = rf.make_repo(tmp_path)
    rf.make_set(repo, n=6, seed=3)
    with rf.editors_env(repo):  # a withdrawn case is sealed to the editors
        inp = engine.run_mkdocs(repo, tmp_path / "site", verify_signatures=False)
    assert inp.published
    gc.collect()
    held = [o for o in gc.get_objects() if isinstance(o, Page | File)]
    assert held == []
