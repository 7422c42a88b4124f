"""The build's remembered precision findings (issue 18): the same verdicts as judging
afresh, for refused and innocent texts, and a change of any input judges again."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from temoin import cache, config
from temoin.cli import main
from temoin.curation import precision, precision_memo
from tests.helpers import Org
from tests.test_precision import AGES, CHILD, INNOCENT, _case

PLACES = ["Enlevée à Mutimbuzi puis vue au Kabezi.", "GPS -3.4264, 29.9308",
          "À Nyanza-Lac, province de Gitega."]


def test_remembered_findings_are_those_found_afresh(tmp_path: Path) -> None:
    """Every refused and innocent text, with and without accepted texts, gives the same
    findings from a fresh judgement, a first call with the memo, a second (kept), and a
    memo saved and read again; private places are never kept."""
    repo = tmp_path / "repo"
    repo.mkdir()
    cfg = config.Config(repo, organisation="t")
    memo = precision_memo.Memo(repo)
    texts = AGES + INNOCENT + PLACES
    fresh = {}
    for text in texts:
        case = _case(text, summary={"fr": text, "en": "x"})
        for accepted in ([], [text], ["vue au Kabezi"]):
            want = precision.findings(case, cfg, accepted=accepted)
            fresh[(text, tuple(accepted))] = want
            assert precision.findings(case, cfg, accepted=accepted, memo=memo) == want
            assert precision.findings(case, cfg, accepted=accepted, memo=memo) == want
    assert any(fresh.values()) and not all(fresh.values())
    kept = len(memo.new)
    private = {"exact_places": ["colline Fictive"]}
    secret = _case("près de la colline Fictive")
    assert precision.findings(secret, cfg, private, memo=memo) == \
        precision.findings(secret, cfg, private) != []
    assert len(memo.new) == kept  # a private place is never part of a kept key
    memo.save()
    again = precision_memo.Memo(repo)
    for (text, accepted), want in fresh.items():
        case = _case(text, summary={"fr": text, "en": "x"})
        assert precision.findings(case, cfg, accepted=list(accepted), memo=again) == want
    assert again.new == memo.new
    # The key holds every input: the precision allowed (an adult's case allows admin2).
    adult = _case("À Mutimbuzi.", victims=[{"id": "v1", "count": 1, "sex": "m",
                                              "age_group": "adult", "status_now": "free"}])
    assert precision.findings(_case("À Mutimbuzi."), cfg, memo=again)
    assert precision.findings(adult, cfg, memo=again) == []


def _build(org: Org) -> object:
    return CliRunner().invoke(main, ["--repo", str(org.repo), "build"])


def test_a_warm_build_refuses_what_the_first_refused_and_a_forged_memo_changes_nothing(
        org: Org) -> None:
    """The build keeps its findings in the cache (`precision.json`); the rebuild refuses
    the same case with the same message, and a memo file written without this machine's
    key (every finding removed) is ignored."""
    aged = org.add_case(summary={"fr": "Une fille de 14 ans.", "en": "A girl."}, **CHILD)
    first = _build(org)
    assert first.exit_code == 4, first.output  # type: ignore[attr-defined]
    message = f"cases/{aged.id}/case.md: summary.fr: states an exact age ('14 ans')"
    assert message in first.output  # type: ignore[attr-defined]
    store = cache.Store.open(org.repo)
    assert store is not None
    memo = store.folder / precision_memo.PRECISION.name
    header, payload = memo.read_bytes().split(b"\n", 1)
    kept = json.loads(payload)
    assert any(found for found in kept.values())
    again = _build(org)
    assert again.exit_code == 4 and message in again.output  # type: ignore[attr-defined]
    memo.write_bytes(header + b"\n" + json.dumps({k: [] for k in kept}).encode())
    forged = _build(org)
    assert forged.exit_code == 4 and message in forged.output  # type: ignore[attr-defined]


def test_only_a_whole_build_drops_findings_it_did_not_use(tmp_path: Path) -> None:
    """A run that judged one case (a preview rebuild, `case publish`) keeps what the last
    build remembered of the others; a build that judged every case keeps only its own."""
    repo = tmp_path / "repo"
    repo.mkdir()
    cfg = config.Config(repo, organisation="t")
    first = precision_memo.Memo(repo)
    for text in AGES[:3]:
        precision.findings(_case(text), cfg, memo=first)
    first.save(whole=True)
    one = precision_memo.Memo(repo)
    precision.findings(_case(INNOCENT[0]), cfg, memo=one)
    one.save()
    assert len(precision_memo.Memo(repo).old) == 4
    whole = precision_memo.Memo(repo)
    precision.findings(_case(AGES[0]), cfg, memo=whole)
    whole.save(whole=True)
    assert len(precision_memo.Memo(repo).old) == 1
