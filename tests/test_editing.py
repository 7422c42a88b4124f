"""`temoin case edit` and `case set`: the decrypted private part lives only on tmpfs, in a
0700 folder, 0600 files, wiped on every way out (save, error, Ctrl-C, SIGTERM, a killed
session); what is saved validates, or the editor reopens with the problems."""

from __future__ import annotations

import os
import random
import signal
import string
import subprocess
import sys
import time
from pathlib import Path

import pytest

from temoin import cases, tmpfs
from temoin.curation import editing
from tests.curation_fixtures import ScriptedEditor, cli, grep_tree, ok, scripted_editor
from tests.helpers import Org, case_text

__all__ = ["scripted_editor"]  # the fixture, imported for pytest

# Unique to this process: these tests grep the machine-wide tmpfs for it, where the edits of
# another xdist worker, or of another run of these tests on the machine, are legitimately
# open at the same moment (one such copy made a wiped edit look leaked).
CANARY = "Canary Bizimana" + "".join(random.SystemRandom().choices(string.ascii_lowercase, k=8))
TESTIMONY = "Le témoin raconte que TESTIMONY-CANARY-4F a été frappé au poste de police."


def draft(org: Org) -> cases.Case:
    return org.add_case(status="draft", private={"testimony": TESTIMONY})


def ciphertext(org: Org, case: cases.Case) -> bytes:
    return cases.private_path(org.repo, case.id).read_bytes()


def test_edit_keeps_plaintext_on_tmpfs_only_and_wipes_it(org: Org, tmp_path: Path,
                                                         scripted_editor: ScriptedEditor):
    case = draft(org)
    scripted_editor.plan({
        "case.md": {"replace": [["Récit anonymisé.", "Récit revu par l'équipe."]]},
        "private.yaml": {"append": f"victims:\n- id: v1\n  full_name: {CANARY}\n"}})
    out = ok(cli(org.repo, "case", "edit", case.id, editor=org.alice)).output
    assert f"Saved {case.id}: case.md and private part (re-encrypted)" in out
    [seen] = scripted_editor.log()
    folder = Path(seen["dir"])
    assert tmpfs.is_tmpfs(folder) and seen["dir_mode"] == 0o700
    assert sorted(f["mode"] for f in seen["files"]) == [0o600, 0o600]
    assert not folder.exists() and not any(Path(f["path"]).exists() for f in seen["files"])
    needle = CANARY.encode()
    assert grep_tree(org.repo, needle) == []
    assert grep_tree(Path(tmpfs.tmpfs_dir()), needle) == []
    # Nowhere under the test's folder (GNUPGHOME, editor log…) but the plan that typed it.
    assert grep_tree(tmp_path, needle) == [str(scripted_editor.plan_path)]
    res = org.keyring.decrypt(ciphertext(org, case))
    assert needle in res.plaintext and len(set(res.recipients)) == 2  # Alice and Bob
    assert cases.load(org.repo, case.id).narrative.startswith("Récit revu")
    assert cases.read_private(org.repo, case.id, org.keyring)["testimony"] == TESTIMONY


def test_edit_reopens_with_the_problems_until_valid(org: Org,
                                                    scripted_editor: ScriptedEditor):
    case = draft(org)
    scripted_editor.plan(
        {"case.md": {"replace": [["consent: none", "consent: maybe"]]},
         "private.yaml": {"write": "- not\n- a mapping\n"}},
        {"case.md": {"replace": [["consent: maybe", "consent: aggregate_only"]]},
         "private.yaml": {"write": "testimony: corrigé\n"}})
    res = ok(cli(org.repo, "case", "edit", case.id, editor=org.alice))
    first, second = scripted_editor.log()
    assert not any("Not saved" in m for m in first["marks"]["case.md"])
    shown = "\n".join(second["marks"]["case.md"])
    assert "Not saved. Fix the problems below" in shown
    assert "consent: expected one of none, aggregate_only, anonymised, named, got 'maybe'" \
        in shown
    assert "expected a YAML mapping" in "\n".join(second["marks"]["private.yaml"])
    assert "Saved" in res.output
    saved = cases.load(org.repo, case.id)
    assert saved.meta["consent"] == "aggregate_only"
    assert "#!temoin" not in case_text(saved)
    assert cases.read_private(org.repo, case.id, org.keyring) == {"testimony": "corrigé"}


def test_edit_opens_a_commented_template_showing_what_is_missing(
        org: Org, scripted_editor: ScriptedEditor):
    """`case new` and `case edit` open case.md with help from the field table and, at the
    top, what the case still lacks to be published; the comments never reach the files."""
    scripted_editor.plan({"case.md": {"replace": [["consent: none", "consent: anonymised"]]},
                          "private.yaml": {"append": "exact_places: [Quartier X]\n"}})
    out = ok(cli(org.repo, "case", "new", "--channel", "phone", editor=org.alice)).output
    cid = out.split("Created draft ")[1].split(".")[0]
    [seen] = scripted_editor.log()
    shown = "\n".join(seen["marks"]["case.md"])
    top = shown.split("Then:")[0]
    assert "Still missing to publish" in top
    for need in ("event.date_start", "victims", "acts", "consent is none"):
        assert need in top, need
    assert "#!temoin consent: Consent / Consentement" in shown
    assert "none | aggregate_only | anonymised | named" in shown
    assert "#!temoin status:" in shown and "not by hand" in shown
    assert "Not filled in yet" in shown and "perpetrators:" in shown
    private_help = "\n".join(seen["marks"]["private.yaml"])
    assert "Fields you may add" in private_help and "exact_places" in private_help
    saved = cases.load(org.repo, cid)
    assert saved.meta["consent"] == "anonymised"
    assert "#!temoin" not in case_text(saved)
    assert cases.read_private(org.repo, cid, org.keyring)["exact_places"] == ["Quartier X"]


def test_edit_gives_up_when_reopened_and_left_unchanged(org: Org,
                                                        scripted_editor: ScriptedEditor):
    case = draft(org)
    before_public, before_private = case.stored_path.read_bytes(), ciphertext(org, case)
    scripted_editor.plan({"case.md": {"replace": [["consent: none", "consent: maybe"]]},
                          "private.yaml": {"append": f"names: [{CANARY}]\n"}}, {})
    result = cli(org.repo, "case", "edit", case.id, editor=org.alice)
    assert result.exit_code == 1 and "gave up: nothing saved" in result.output
    assert CANARY not in result.output
    assert case.stored_path.read_bytes() == before_public
    assert ciphertext(org, case) == before_private
    assert not Path(scripted_editor.log()[0]["dir"]).exists()


def test_edit_refuses_workflow_fields_and_private_values_in_public(
        org: Org, scripted_editor: ScriptedEditor):
    case = draft(org)
    scripted_editor.plan({"case.md": {"replace": [["status: draft", "status: published"]],
                                      "append": f"\n{TESTIMONY}\n"}}, {})
    result = cli(org.repo, "case", "edit", case.id, editor=org.alice)
    assert result.exit_code == 1
    assert "status: changed by hand; only `temoin case review/publish" in result.output
    assert "holds a value of the private part (testimony)" in result.output
    assert "TESTIMONY-CANARY-4F" not in result.output
    assert cases.load(org.repo, case.id).status == "draft"


def test_edit_refuses_when_no_tmpfs_is_available(org: Org, tmp_path: Path,
                                                 scripted_editor: ScriptedEditor,
                                                 monkeypatch: pytest.MonkeyPatch):
    disk = tmp_path / "on-disk"
    disk.mkdir()
    if tmpfs.is_tmpfs(disk):
        pytest.skip("pytest's tmp_path is itself on tmpfs here")
    monkeypatch.setenv("TEMOIN_TMPDIR", str(disk))
    case = draft(org)
    scripted_editor.plan({"private.yaml": {"append": f"names: [{CANARY}]\n"}})
    result = cli(org.repo, "case", "edit", case.id, editor=org.alice)
    assert result.exit_code == 1
    assert "no RAM-backed tmpfs" in result.output and "refusing to write" in result.output
    assert scripted_editor.log() == [] and list(disk.iterdir()) == []
    # `case set` never writes plaintext anywhere, so it still works.
    ok(cli(org.repo, "case", "set", case.id, "--private", f"names.0={CANARY}",
           editor=org.alice))
    assert cases.read_private(org.repo, case.id, org.keyring)["names"] == [CANARY]


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_edit_wipes_the_plaintext_when_interrupted(org: Org, how: str,
                                                   scripted_editor: ScriptedEditor):
    case = draft(org)
    before = ciphertext(org, case)
    scripted_editor.plan({"private.yaml": {"append": f"names: [{CANARY}]\n"}, "sleep": 60})
    proc = subprocess.Popen(
        [sys.executable, "-m", "temoin", "--repo", str(org.repo), "case", "edit", case.id,
         "--editor", org.alice], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not scripted_editor.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        [seen] = scripted_editor.log()
        plain = Path(seen["files"][1]["path"])
        assert CANARY.encode() in plain.read_bytes()  # the editor's copy, on tmpfs
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)      # `kill PID`: Témoin only
        else:
            os.killpg(proc.pid, signal.SIGINT)    # Ctrl-C: the whole foreground group
        output = proc.communicate(timeout=60)[0].decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    if how == "SIGTERM":
        assert "interrupted by SIGTERM: nothing saved" in output
    assert not Path(seen["dir"]).exists()
    assert grep_tree(tmpfs.tmpfs_dir(), CANARY.encode()) == []
    assert ciphertext(org, case) == before


def test_a_killed_session_is_wiped_by_the_next_one():
    base = tmpfs.tmpfs_dir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "30"])
    stale, live = base / f"{tmpfs.PREFIX}stale-test", base / f"{tmpfs.PREFIX}live-test"
    try:
        for folder, pid in ((stale, dead.pid), (live, alive.pid)):
            folder.mkdir(mode=0o700)
            (folder / "pid").write_text(str(pid))
            (folder / "private.yaml").write_text(f"names: [{CANARY}]\n")
        with tmpfs.session() as mine:
            assert mine.is_dir() and (mine / "pid").read_text() == str(os.getpid())
        assert not stale.exists() and not mine.exists()
        assert live.exists()  # another editor's session still running is left alone
    finally:
        alive.kill()
        alive.wait()
        tmpfs.wipe_dir(live)
        tmpfs.wipe_dir(stale)


def test_set_fields_by_dotted_paths_and_yaml_values(org: Org):
    case = draft(org)
    ok(cli(org.repo, "case", "set", case.id, "consent=anonymised",
           "event.location.admin1=Ngozi", "event.location.admin2=null", "victims[0].sex=f",
           "victims.1.id=v2", "tags.0=fictif", editor=org.alice))
    meta = cases.load(org.repo, case.id).meta
    assert meta["consent"] == "anonymised" and meta["event"]["location"]["admin1"] == "Ngozi"
    assert meta["event"]["location"]["admin2"] is None
    assert [v["id"] for v in meta["victims"]] == ["v1", "v2"] and meta["victims"][0]["sex"] == "f"
    assert meta["tags"] == ["fictif"]
    refused = cli(org.repo, "case", "set", case.id, "review.risk_reviewed=2025-10-05",
                  editor=org.alice)
    assert refused.exit_code == 1
    assert "only `temoin case risk-review` changes it" in refused.output
    out = ok(cli(org.repo, "case", "set", case.id, "--private", f"victims.0.full_name={CANARY}",
                 "contacts.0.phone='+257 79 12 34 56'", editor=org.alice)).output
    assert "Set 2 field(s)" in out and CANARY not in out
    private = cases.read_private(org.repo, case.id, org.keyring)
    assert private["victims"][0]["full_name"] == CANARY
    assert private["contacts"] == [{"phone": "+257 79 12 34 56"}]
    assert private["testimony"] == TESTIMONY
    assert grep_tree(org.repo, CANARY.encode()) == []


@pytest.mark.parametrize(("args", "message"), [
    (["victims.0.full_name=Secret Person"], "confidential key in the public file"),
    (["status=published"], "only `temoin case review/publish"),
    (["verification=confirmed"], "only `temoin case verify`"),
    (["victims.5.sex=f"], "index 5 past the end (the list has 1)"),
    (["consent=maybe"], "consent: expected one of"),
    (["noequals"], "expected PATH=VALUE"),
    (["bad..path=1"], "expected a dotted path"),
    ([f"summary.fr={CANARY}"], "holds a value of the private part (victims.0.name)"),
    ([], "nothing to set"),
])
def test_set_refuses_bad_assignments_and_saves_nothing(org: Org, args: list[str],
                                                       message: str):
    case = draft(org)
    cases.write_private(org.repo, case.id, {"victims": [{"name": CANARY}]}, org.keyring,
                        org.cfg.recipient_fingerprints, org.alice)
    before = case.stored_path.read_bytes()
    result = cli(org.repo, "case", "set", case.id, *args, editor=org.alice)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Secret Person" not in result.output and CANARY not in result.output
    assert case.stored_path.read_bytes() == before


def test_editing_a_published_case_says_it_needs_reapproval(org: Org,
                                                           scripted_editor: ScriptedEditor):
    case = org.add_case(narrative="Version approuvée.")
    scripted_editor.plan({"case.md": {"replace": [["Version approuvée.", "Version revue."]]}})
    out = ok(cli(org.repo, "case", "edit", case.id, "--only", "public",
                 editor=org.alice)).output
    assert "needs a new verification and approval" in out and "off the site" in out
    assert [f["path"].endswith("case.md") for f in scripted_editor.log()[0]["files"]] == [True]


def test_vim_is_told_to_keep_no_swap_or_viminfo(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("EDITOR", "vim")
    cmd = editing.editor_command()
    assert cmd[0] == "vim" and "-n" in cmd and cmd[cmd.index("-i") + 1] == "NONE"
    monkeypatch.setenv("EDITOR", "nano -R")
    assert editing.editor_command() == ["nano", "-R"]


def test_vim_called_vi_is_told_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Debian's default `vi` is a link to vim.basic: without the flags its ~/.viminfo kept
    what was yanked from a decrypted testimony."""
    vim = tmp_path / "vim.basic"
    vim.write_text("#!/bin/sh\n")
    vim.chmod(0o755)
    (tmp_path / "vi").symlink_to(vim)
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    cmd = editing.editor_command()
    assert cmd[0] == "vi" and cmd[cmd.index("-i") + 1] == "NONE"


def test_new_case_opens_the_editor_on_its_empty_parts(org: Org,
                                                      scripted_editor: ScriptedEditor):
    scripted_editor.plan({"private.yaml": {"replace": [["testimony: ''", "testimony: |\n  "
                                                        + TESTIMONY]]}})
    out = ok(cli(org.repo, "case", "new", "--channel", "phone", editor=org.bob)).output
    cid = out.split()[2].rstrip(".")
    assert out.startswith(f"Created draft {cid}.")
    private = cases.read_private(org.repo, cid, org.keyring)
    assert private["testimony"].strip() == TESTIMONY
    assert private["intake"]["channel"] == "phone"
    assert grep_tree(org.repo, b"TESTIMONY-CANARY-4F") == []
