"""The command line as an editor uses it: init, check, keys, case list/show, build."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from temoin import config
from temoin.cli import main
from tests.helpers import Org, case_text, stop_gpg


def run(*args: str, repo: Path | None = None):
    pre = ["--repo", str(repo)] if repo else []
    return CliRunner().invoke(main, [*pre, *args], catch_exceptions=False)


def test_init_scaffolds_a_repo_that_builds_only_with_a_signed_trust_root(tmp_path: Path):
    repo = tmp_path / "sos"
    result = run("init", str(repo), "-o", "SOS Burundi", "--country", "BI")
    assert result.exit_code == 0, result.output
    for part in ("mkdocs.yml", "site_src/index.md", "cases", "keys/editors", "inbox/quarantine",
                 "custody.jsonl", ".gitignore"):
        assert (repo / part).exists(), part
    assert "inbox/" in (repo / ".gitignore").read_text()
    # No editors yet, so no signed trust root: build refuses and says what to run (issue 16).
    result = run("build", repo=repo)
    assert result.exit_code == 3 and "no signed trust root" in result.output, result.output
    assert not (repo / "site").exists()
    assert "temoin trust propose" in run("check", repo=repo).output


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["init", str(tmp_path / "x")])
    assert result.exit_code == 1 and "not empty" in result.output


def test_check_reports_every_mistake_with_exit_1(org: Org):
    good = org.add_case()
    bad_vocab = org.add_case(status="draft")
    text = case_text(bad_vocab).replace("type: torture", "type: tortture")
    bad_vocab.path.write_text(text)
    missing = org.add_case(status="draft")
    missing.path.write_text(case_text(missing).replace("consent: none\n", ""))
    (org.repo / "custody.jsonl").write_text('{"action": "ingested", "prev": "x", "hash": "y"}\n')
    result = run("check", repo=org.repo)
    assert result.exit_code == 1, result.output
    assert "tortture" in result.output
    assert f"cases/{missing.id}/case.md: consent: required field missing" in result.output
    assert "custody.jsonl:1" in result.output
    assert good.id not in result.output


def test_keys_import_records_fingerprints_and_keeps_comments(org: Org, tmp_path: Path):
    partner_home = tmp_path / "partner-gnupg"
    from temoin import keys

    pk = keys.Keyring(partner_home)
    fpr = pk.generate("UN Special Rapporteur (test)", "sr@example.invalid")
    key_file = tmp_path / "partner.asc"
    key_file.write_text(pk.export_public(fpr))
    result = run("keys", "import", str(key_file), "--as", "partner", "--category",
                 "un_mechanism", repo=org.repo)
    assert result.exit_code == 0, result.output
    # Recorded in mkdocs.yml, but in force only once two editors sign the trust root.
    assert fpr not in [p.fingerprint for p in config.load(org.repo).partners]
    for who in (org.alice, org.bob):
        signed = run("trust", "propose" if who == org.alice else "sign", "--editor", who,
                     repo=org.repo)
        assert signed.exit_code == 0, signed.output
    cfg = config.load(org.repo)
    assert cfg.partner(fpr).category == "un_mechanism"
    assert (org.repo / "keys" / "partners").glob("*.asc")
    text = (org.repo / "mkdocs.yml").read_text()
    assert "# week | month | quarter" in text  # editors' comments survive
    listed = json.loads(run("keys", "list", "--json", repo=org.repo).stdout)
    assert {d["role"] for d in listed} == {"inbox", "editor", "partner:un_mechanism"}
    assert next(d for d in listed if d["role"] == "inbox")["secret"] is True


def test_keys_import_refuses_a_key_that_cannot_do_its_job(org: Org, tmp_path: Path):
    """A sign-only, an expired and a revoked key: each refused with the reason, and nothing
    recorded (every confidential file would later fail to encrypt to them, or worse)."""
    home = tmp_path / "other-gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback",
           "--passphrase", ""]

    def make(uid: str, algo: str, usage: str, expire: str, *options: str) -> str:
        subprocess.run([*gpg, *options, "--quick-gen-key", uid, algo, usage, expire],
                       check=True, capture_output=True)
        out = subprocess.run([*gpg, "--with-colons", "--list-keys", uid], check=True,
                             capture_output=True, text=True).stdout
        return next(ln.split(":")[9] for ln in out.splitlines() if ln.startswith("fpr"))

    sign_only = make("Sign Only <s@example.invalid>", "ed25519", "sign", "never")
    # made in 2020 with a one-day life, both subkeys included: expiry is its only flaw
    expired = make("Expired <x@example.invalid>", "future-default", "default", "1d",
                   "--faked-system-time", "20200101T000000")
    revoked = make("Revoked <r@example.invalid>", "future-default", "default", "never")
    # gpg keeps a revocation certificate for every new key, its first line defused by ":"
    rev = (home / "openpgp-revocs.d" / f"{revoked}.rev").read_text().replace(":-----", "-----")
    subprocess.run([*gpg, "--import"], input=rev, text=True, capture_output=True, check=True)
    before = (org.repo / "mkdocs.yml").read_text()
    for fpr, role, why in ((sign_only, "editor", "no valid subkey that can encrypt"),
                           (expired, "partner", "expired"), (revoked, "inbox", "revoked")):
        f = tmp_path / f"{fpr}.asc"
        f.write_bytes(subprocess.run([*gpg, "--armor", "--export", fpr], check=True,
                                     capture_output=True).stdout)
        extra = ["--category", "ngo"] if role == "partner" else []
        result = CliRunner().invoke(main, ["--repo", str(org.repo), "keys", "import", str(f),
                                           "--as", role, *extra])
        assert result.exit_code == 1, result.output
        assert f"cannot serve as {role}" in result.output and why in result.output
    assert (org.repo / "mkdocs.yml").read_text() == before


def test_case_list_and_show_print_json_only(org: Org):
    pub = org.add_case()
    org.add_case(status="draft")
    listed = json.loads(run("case", "list", "--json", repo=org.repo).output)
    assert {c["id"] for c in listed} == set(org.created)
    assert all("path" in c and "title" in c for c in listed)
    only = json.loads(run("case", "list", "--status", "draft", "--json", repo=org.repo).output)
    assert [c["status"] for c in only] == ["draft"]
    shown = json.loads(run("case", "show", pub.id, "--json", repo=org.repo).output)
    assert shown["id"] == pub.id and shown["narrative"].startswith("Récit")
    assert shown["event"]["date_start"] == "2025-03-14"


def test_case_show_private_decrypts_to_the_terminal_only(org: Org):
    case = org.add_case(private={"testimony": "CANARY-PRIVATE-TESTIMONY"})
    result = run("case", "show", case.id, "--private", "--json", repo=org.repo)
    assert json.loads(result.stdout)["private"]["testimony"] == "CANARY-PRIVATE-TESTIMONY"
    hits = [p for p in org.repo.rglob("*") if p.is_file()
            and b"CANARY-PRIVATE-TESTIMONY" in p.read_bytes()]
    assert hits == []


def test_demo_theme_files_match_the_scaffold():
    """This repo is a scaffolded organisation repo: its theme files must not drift from what
    `temoin init` writes, or the demo would test a site no organisation gets."""
    from tests.conftest import REPO_ROOT

    scaffold = REPO_ROOT / "src" / "temoin" / "data" / "scaffold" / "site_src"
    for rel in ("overrides/main.html", "overrides/partials/copyright.html",
                "assets/temoin.css"):
        assert (REPO_ROOT / "site_src" / rel).read_text() == (scaffold / rel).read_text(), rel


def test_editor_names_become_ascii_file_names_and_never_replace_another_key(
        org: Org, tmp_path: Path):
    """'Bob Éditeur' was stored as bob-diteur.asc; a second 'Bob Editeur' with another key
    would then replace the first one's public key."""
    from temoin import keys

    home = tmp_path / "editors-gnupg"
    other = keys.Keyring(home)
    try:
        made = {name: other.generate(name, f"{i}@example.invalid")
                for i, name in enumerate(("Bob Éditeur", "Bob Editeur"))}
        for fpr in made.values():
            f = tmp_path / f"{fpr}.asc"
            f.write_text(other.export_public(fpr))
            result = run("keys", "import", str(f), "--as", "editor", repo=org.repo)
            assert result.exit_code == 0, result.output
    finally:
        stop_gpg(home)
    first, second = made["Bob Éditeur"], made["Bob Editeur"]
    folder = org.repo / "keys" / "editors"
    assert (folder / "bob-editeur.asc").is_file()
    assert (folder / f"bob-editeur-{second[-8:].lower()}.asc").is_file()
    names = sorted(p.name for p in folder.glob("*.asc"))
    assert all(n.isascii() for n in names), names
    # Recorded in mkdocs.yml (what `temoin trust propose` puts to the other editors); in
    # force only once two editors sign the trust root (issue 16).
    proposed = config.from_options(org.repo, config.plugin_options(
        config.read_mkdocs_yml(org.repo / "mkdocs.yml")), None, root=False)
    assert {first, second} <= {r.fingerprint for r in proposed.recipients}
    assert not {first, second} & set(config.load(org.repo).recipient_fingerprints)


def test_a_mistyped_case_id_is_told_its_format_and_alphabet(org: Org):
    result = run("case", "show", "BI-2025-K7QX1M", repo=org.repo)
    assert result.exit_code == 1
    assert "'1' not allowed" in result.output
    assert "PREFIX-YEAR-XXXXXX" in result.output and "A-Z and digits 2-7" in result.output
    lower = run("case", "show", "bi-2025-k7qx2m", repo=org.repo)
    assert lower.exit_code == 1 and "capitals" in lower.output


def test_docs_cases_md_is_what_temoin_schema_prints():
    """docs/cases.md is generated from the field table: regenerate it with
    `temoin schema --markdown > docs/cases.md` when the table or a vocabulary changes."""
    from temoin.cases import schema, vocab

    result = run("schema", "--markdown")
    assert result.exit_code == 0, result.output
    committed = (Path(__file__).resolve().parent.parent / "docs" / "cases.md").read_text()
    assert result.output == committed, "docs/cases.md is stale: run `temoin schema " \
        "--markdown > docs/cases.md`"
    for f in schema.FIELDS:
        assert f"`{f.path}`" in committed or f.path.endswith("[]"), f.path
    for code, term in vocab.terms("consent").items():
        assert f"| `{code}` | {term['fr']} | {term['en']} |" in committed
    fields = json.loads(run("schema", "--json").output)
    assert [f["path"] for f in fields] == [f.path for f in schema.FIELDS]
