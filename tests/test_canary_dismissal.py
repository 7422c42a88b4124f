"""Signed dismissal of a canary form that is also a public figure's name (issue 15, item 1):
`temoin case dismiss ID --canary WORD --reason …`. Real gpg, real builds."""

from __future__ import annotations

import datetime as dt

from temoin import cases, curation, gates
from temoin.curation import canary_dismissal, decisions
from temoin.gates import guard
from temoin.keys import vault
from tests.curation_fixtures import cli, grep_tree, ok
from tests.helpers import Org

DAY = dt.date(2025, 10, 5)
FIGURE = "Le ministre Ntakirutimana a nié les faits devant la presse."
PRIVATE = {"testimony": "Témoignage reçu par téléphone.",
           "victims": [{"id": "v1", "name": "Jean Ntakirutimana"}]}


# -- the matcher: a dismissed form stands only in its case's own runs ----------------------
def _hits(canaries: list[gates.Canary], text: str) -> set[str]:
    return {detail for _gate, detail in gates.find(gates.matcher(canaries), text)}


def test_a_dismissed_form_stands_only_in_its_own_case_text_and_the_full_name_still_blocks():
    base = [gates.Canary(v, "BI-2025-AAAAAA", "victims.0.name")
            for v in ("jean ntakirutimana", "ntakirutimana jean", "ntakirutimana")]
    runs = guard.contexts([FIGURE, "Un homme arrêté."], "ntakirutimana")
    assert runs == (" le ministre ntakirutimana a nie les ",)
    allowed = [gates.Canary(c.value, c.case_id, c.field, allowed=runs)
               if c.value == "ntakirutimana" else c for c in base]
    page = f"<p>{FIGURE.replace('Ntakirutimana', '<em>Ntakirutimana</em>')}</p>"
    assert _hits(base, page)                     # without a dismissal: refused
    assert _hits(allowed, page) == set()         # where its own case's text names him
    # Elsewhere (another sentence, another case's page), and the full name: still refused.
    for text in (f"<p>{FIGURE}</p><p>Ntakirutimana a été arrêté.</p>",
                 "<p>Ntakirutimana était présent.</p>",
                 f"<p>{FIGURE} Jean Ntakirutimana.</p>",
                 "ntakirutimana"):
        assert _hits(allowed, text), text
    # A run of the form alone would let it stand anywhere: none is made.
    assert guard.contexts(["Ntakirutimana", "**Ntakirutimana**."], "ntakirutimana") == ()


# -- through the CLI and real builds ---------------------------------------------------------
def _case(org: Org) -> cases.Case:
    case = org.add_case(narrative=FIGURE, private=PRIVATE)
    return case


def _statement(org: Org, case: cases.Case, editor: str) -> bytes:
    key = vault.for_repo(org.repo, org.keyring).id_key(org.repo)
    name = canary_dismissal.tag(key, case.id, "ntakirutimana")
    return decisions.statement(canary_dismissal.KIND, case.id, curation.content_hash(case),
                               editor, DAY, {"form": name, "reason": "x"})


def _write(org: Org, case: cases.Case, data: bytes, signature: bytes | None) -> None:
    name = decisions.parse(data).payload["form"][:16]  # type: ignore[union-attr]
    path, sig = decisions.paths(case.folder / "review", canary_dismissal.KIND, name)
    path.write_bytes(data)
    if signature is not None:
        sig.write_bytes(signature)
    else:
        sig.unlink(missing_ok=True)


def test_build_refuses_until_an_editor_signs_a_dismissal_and_only_a_signed_one_counts(
        org: Org):
    case = _case(org)
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert f"[canary] cases/{case.id}/index.html: private value of case {case.id} " \
        "(victims.0.name)" in build.output
    assert "`temoin case dismiss ID --canary WORD --reason …`" in build.output
    assert "ntakirutimana" not in build.output.lower().replace(FIGURE.lower(), "")

    # Hand-written (the right keyed name, no signature), a junk signature, an outsider's
    # signature, an outsider's signature claiming Alice: nothing changes.
    mallory = org.keyring.generate("Mallory", "mallory@example.invalid")
    for data, sig in ((_statement(org, case, org.alice), None),
                      (_statement(org, case, org.alice), b"-----BEGIN PGP SIGNATURE-----\n"),
                      (_statement(org, case, mallory),
                       org.keyring.sign_detached(_statement(org, case, mallory), mallory)),
                      (_statement(org, case, org.alice),
                       org.keyring.sign_detached(_statement(org, case, org.alice), mallory))):
        _write(org, case, data, sig)
        again = cli(org.repo, "build")
        assert again.exit_code == 4, again.output
        assert f"[canary] cases/{case.id}/index.html" in again.output

    # The command refuses what it cannot dismiss.
    for form, why in (("Jean Ntakirutimana", "one word"), ("Kabila", "not a form"),
                      ("jean", "not a form")):
        bad = cli(org.repo, "case", "dismiss", case.id, "--canary", form, "--reason", "x",
                  editor=org.alice)
        assert bad.exit_code != 0 and why in bad.output, bad.output
    assert cli(org.repo, "case", "dismiss", case.id, "--canary", "Ntakirutimana",
               editor=org.alice).exit_code == 2

    done = ok(cli(org.repo, "case", "dismiss", case.id, "--canary", "Ntakirutimana",
                  "--reason", "Ntakirutimana, ministre de l'Intérieur", editor=org.alice))
    assert "ntakirutimana" not in done.output.lower()
    # Neither the word nor the reason is in the repository in plaintext (only on the page).
    review = case.folder / "review"
    assert grep_tree(review, b"Ntakirutimana") == [] and grep_tree(review, b"ntakirutimana") == []
    assert grep_tree(review, b"ministre") == []
    ok(cli(org.repo, "build"))
    assert "Ntakirutimana" in (org.repo / "site" / "cases" / case.id / "index.html").read_text()

    # The same form in another published case's text is still refused (only the case's own
    # text counts).
    other = org.add_case(narrative="Ntakirutimana était présent au marché.")
    build = cli(org.repo, "build")
    assert build.exit_code == 4, build.output
    assert f"[canary] cases/{other.id}/index.html: private value of case {case.id}" \
        in build.output
    assert f"[canary] cases/{case.id}/index.html" not in build.output


def test_a_dismissal_covers_the_content_it_was_signed_on(org: Org):
    case = _case(org)
    before = cli(org.repo, "check")  # `temoin check` reads the same dismissals
    assert before.exit_code == 1 and f"cases/{case.id}/case.md: private value of case " \
        f"{case.id} (victims.0.name)" in before.output, before.output
    assert f"`temoin case dismiss {case.id} --canary WORD --reason …`" in before.output
    ok(cli(org.repo, "case", "dismiss", case.id, "--canary", "ntakirutimana", "--reason",
           "ministre", editor=org.bob))
    with curation.CachedVerifier(org.repo) as verify:
        key = vault.for_repo(org.repo, org.keyring).existing_id_key(org.repo)
        assert canary_dismissal.dismissed(case, org.cfg, verify, key, ["ntakirutimana"]) \
            == {"ntakirutimana"}
        changed = cases.load(org.repo, case.id)
        changed.narrative += "\n\nNtakirutimana a été arrêté."
        assert canary_dismissal.dismissed(changed, org.cfg, verify, key,
                                          ["ntakirutimana"]) == set()
    ok(cli(org.repo, "check"))


def test_publish_names_the_command_and_counts_a_signed_dismissal(org: Org):
    case = org.add_case(status="review", sign=False, narrative=FIGURE,
                        private={**PRIVATE, "consent_requested": "anonymised"})
    for kind, who in (("verify", org.alice), ("approve", org.bob), ("risk-review", org.bob)):
        curation.record_decision(org.repo, case, kind, who, org.keyring, DAY)
    cases.save(org.repo, case)
    refused = cli(org.repo, "case", "publish", case.id, editor=org.bob)
    assert refused.exit_code == 4, refused.output
    assert "holds a value of the private part (victims.0.name)" in refused.output
    assert f"`temoin case dismiss {case.id} --canary WORD --reason …`" in refused.output
    ok(cli(org.repo, "case", "dismiss", case.id, "--canary", "ntakirutimana", "--reason",
           "ministre", editor=org.alice))
    ok(cli(org.repo, "case", "publish", case.id, editor=org.bob))
