"""Builders for test repositories and cases (real keys, real signatures, real files)."""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from temoin import cases, config, curation, keys, scaffold, settings, trust


def stop_gpg(*homes: Path | str) -> None:
    """Stop every GnuPG daemon (gpg-agent, dirmngr, keyboxd, scdaemon) of each throwaway
    GnuPG home: gpg starts them on demand and they outlive the test, the worker and the run.
    The one way tests stop them, at the teardown of whatever made the home."""
    for home in homes:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False,
                       capture_output=True)


@dataclass
class Org:
    """An organisation repo in tmp_path with an inbox key and two editors in `keyring`."""

    repo: Path
    keyring: keys.Keyring
    inbox: str
    alice: str
    bob: str
    counter: int = 0
    created: list[str] = field(default_factory=list)

    @property
    def cfg(self) -> config.Config:
        return config.load(self.repo)

    def add_case(self, status: str = "published", narrative: str = "Récit anonymisé.",
                 private: dict[str, Any] | None = None, sign: bool = True,
                 **overrides: Any) -> cases.Case:
        """A valid case; published ones are verified by Alice and approved by Bob."""
        self.counter += 1
        n = self.counter
        meta = base_meta(f"test-{n}-{self.repo}".encode(), status=status)
        for k, v in overrides.items():
            meta[k] = v
        case = cases.Case(meta, narrative)
        cases.save(self.repo, case)
        if private is not None:
            cases.write_private(self.repo, case.id, private, self.keyring,
                                self.cfg.recipient_fingerprints, self.alice)
        if sign and status in ("published", "withdrawn"):
            self.sign(case)
        self.created.append(case.id)
        return case

    def resign_site(self) -> None:
        """Record site_src/ and mkdocs.yml's settings as they now stand in the trust root:
        Alice proposes, Bob co-signs (what two editors would do for a change of their own)."""
        trust.propose(self.repo, self.cfg, self.keyring, self.alice)
        trust.sign(self.repo, self.keyring, self.bob)

    def sign(self, case: cases.Case, verifier: str | None = None,
             approver: str | None = None) -> None:
        """Verify (Alice), approve (Bob), risk review and publication (Bob), signed; a
        withdrawn case also gets its signed withdrawal."""
        sign_release(self.repo, case, self.keyring, verifier or self.alice,
                     approver or self.bob)


def sign_release(repo: Path, case: cases.Case, keyring: keys.Keyring, verifier: str,
                 approver: str, day: dt.date = dt.date(2025, 10, 5)) -> None:
    """Every signed decision a published (or withdrawn) case needs, then save it; the
    source's consent is a signed consent statement at the case's public consent."""
    review = dict(case.meta.get("review") or {})
    review["risk_reviewed"] = day
    case.meta["review"] = review
    case.meta.setdefault("published", dt.date.fromordinal(day.toordinal()))  # no YAML alias
    curation.record_decision(repo, case, "consent", verifier, keyring, day,
                             ceiling=case.meta.get("consent"), how="written_form",
                             given_by="victim", obtained=day.isoformat())
    for kind, who in (("verify", verifier), ("approve", approver), ("risk-review", approver)):
        curation.record_decision(repo, case, kind, who, keyring, day)
    curation.record_decision(repo, case, "publish", approver, keyring, day,
                             published=case.meta["published"],
                             consent_ceiling=case.meta.get("consent"))
    if case.meta.get("urgent") is True:
        curation.record_decision(repo, case, "urgent", approver, keyring, day, urgent=True)
    if case.meta.get("interventions"):
        curation.record_decision(repo, case, "interventions", approver, keyring, day,
                                 entries=case.meta["interventions"])
    if case.meta.get("status") == "withdrawn":
        w = case.meta.get("withdrawn") or {}
        curation.record_decision(repo, case, "withdraw", approver, keyring, day,
                                 reason=w.get("reason") or {}, published=case.meta["published"])
    cases.save(repo, case)


def base_meta(seed: bytes, status: str = "published", day: dt.date = dt.date(2025, 3, 14),
              **extra: Any) -> dict[str, Any]:
    """Front matter of an ordinary publishable case (torture + arrest of one adult man)."""
    meta: dict[str, Any] = {
        "id": cases.new_id("BI", day.year, seed),
        "title": {"fr": "Arrestation et torture à Gitega", "en": "Arrest and torture in Gitega"},
        "summary": {"fr": "Un homme arrêté puis torturé.", "en": "A man arrested then tortured."},
        "status": status,
        "verification": "verified" if status != "draft" else "received",
        "urgent": False,
        "event": {"date_start": day, "date_end": None, "date_precision": "day",
                  "location": {"country": "BI", "admin1": "Gitega", "admin2": "Gitega",
                               "precision": "admin2"}},
        "victims": [{"id": "v1", "count": 1, "sex": "m", "age_group": "adult",
                     "status_now": "detained"}],
        "perpetrators": [{"id": "p1", "type": "intelligence", "institution": "SNR"}],
        "acts": [{"victim": "v1", "type": "arbitrary_arrest", "perpetrators": ["p1"]},
                 {"victim": "v1", "type": "torture", "perpetrators": ["p1"]}],
        "sources": {"count": 2, "independent": 2, "types": ["witness_testimony"]},
        "consent": "anonymised" if status != "draft" else "none",
        "received": day + dt.timedelta(days=1),
    }
    meta.update(copy.deepcopy(extra))
    return meta


def make_org(root: Path, keyring: keys.Keyring, fprs: dict[str, str]) -> Org:
    """`temoin init` + inbox key + two editors recorded in mkdocs.yml and keys/."""
    repo = root / "org"
    scaffold.init(repo, "SOS-Test", "BI", git=False)
    (repo / "keys" / "inbox.asc").write_text(keyring.export_public(fprs["inbox"]))
    for name in ("alice", "bob"):
        (repo / "keys" / "editors" / f"{name}.asc").write_text(
            keyring.export_public(fprs[name]))

    def change(o: Any) -> None:
        o["inbox_key"] = fprs["inbox"]
        o["recipients"] = [{"fingerprint": fprs["alice"], "name": "Alice"},
                           {"fingerprint": fprs["bob"], "name": "Bob"}]
        o["contact_email"] = "temoignages@example.invalid"

    settings.update(repo, change)
    trust.found(repo, config.load(repo), keyring, [fprs["alice"], fprs["bob"]])
    return Org(repo, keyring, fprs["inbox"], fprs["alice"], fprs["bob"])


T = TypeVar("T")


def own_org(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Org], T]
            ) -> Iterator[T]:
    """For a module-scoped fixture: `make` run on a signed organisation of its own (real
    gpg: an inbox key and two editors), GNUPGHOME and SOURCE_DATE_EPOCH set only while it
    runs (every later test starts with the session's environment); its gpg-agent dies at
    the module's end."""
    from tests.conftest import gpg_agents, kill_agents  # conftest imports this module

    root = tmp_path_factory.mktemp(name)
    home = root / "gnupg"
    home.mkdir(mode=0o700)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GNUPGHOME", str(home))
            mp.setenv("SOURCE_DATE_EPOCH", "1760000000")
            kr = keys.Keyring(home)
            fprs = {"inbox": kr.generate("Inbox", "inbox@example.invalid"),
                    "alice": kr.generate("Alice", "alice@example.invalid"),
                    "bob": kr.generate("Bob", "bob@example.invalid")}
            made = make(make_org(root, kr, fprs))
        yield made
    finally:
        kill_agents([a for a in gpg_agents() if a.home.is_relative_to(root)])


def site_files(site: Path) -> dict[str, bytes]:
    """Every file of a built site, by relative path."""
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file()}


def cache_path(repo: Path, name: str) -> Path:
    """Where the cache `name` of `repo` lives for this user (under XDG_CACHE_HOME)."""
    from temoin import cache

    return cache.home() / cache.repo_id(repo) / name


def cache_payload(path: Path) -> bytes:
    """The payload of a cache file (after its header line), without checking it."""
    return path.read_bytes().split(b"\n", 1)[1]


def case_text(case: cases.Case) -> str:
    """A case's case.md text, decrypted in memory when it is sealed (unpublished: issue 16)."""
    return cases.read_text(case.folder.parent.parent, case.id)


FORGERIES = ("unsigned", "outsider", "revoked")


def forge(org: Org, plaintext: bytes, how: str) -> bytes:
    """`plaintext` encrypted to the editors as someone without an editor's current key could
    make it (issue 16): "unsigned"; signed by an "outsider" (a key the trust root does not
    name); or by a "revoked" editor key, signed after its revocation (Bob's key: it is
    revoked here, and keys/editors/bob.asc now records it)."""
    rcpts = org.cfg.recipient_fingerprints
    if how == "unsigned":
        return org.keyring.encrypt(plaintext, rcpts)
    if how == "outsider":
        mallory = next((k.fingerprint for k in org.keyring.list(secret=True)
                        if any("Mallory" in u for u in k.uids)), None) \
            or org.keyring.generate("Mallory", "mallory@example.invalid")
        return org.keyring.encrypt(plaintext, rcpts, sign=mallory)
    assert how == "revoked", how
    now = int(time.time())
    # Signed "later" than the revocation below: what a seized key does once revoked.
    forged = subprocess.run(
        ["gpg", "--homedir", str(org.keyring.home), "--batch", "--pinentry-mode", "loopback",
         "--passphrase", "", "--trust-model", "always", "--faked-system-time",
         f"{now + 120}!", "--armor", *(a for r in rcpts for a in ("-r", r)), "-u", org.bob,
         "--sign", "--encrypt"], input=plaintext, capture_output=True, check=True).stdout
    revocation = subprocess.run(
        ["gpg", "--homedir", str(org.keyring.home), "--no-tty", "--pinentry-mode", "loopback",
         "--passphrase", "", "--command-fd", "0", "--status-fd", "2", "--yes",
         "--faked-system-time", f"{now + 60}!", "--armor", "--gen-revoke", org.bob],
        input=b"y\n1\n\ny\n", capture_output=True, check=True).stdout
    subprocess.run(["gpg", "--homedir", str(org.keyring.home), "--batch", "--import"],
                   input=revocation, capture_output=True, check=True)
    (org.repo / "keys" / "editors" / "bob.asc").write_text(org.keyring.export_public(org.bob))
    return forged


def sign_v1(org: Org, case: cases.Case, kind: str, who: str, day: dt.date = dt.date(2025, 10, 5),
            **payload: object) -> None:
    """A decision as written before decisions were chained (format 1), validly signed by
    `who`, in the case's review/ folder."""
    import json

    from temoin.curation import decisions

    doc = {"format": decisions.FORMAT_1, "kind": kind, "case": case.id,
           "content_sha256": curation.content_hash(case), "editor": who,
           "date": day.isoformat(), "payload": payload}
    data = json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1,
                      default=str).encode() + b"\n"
    path, sig = decisions.paths(case.folder / curation.REVIEW, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    sig.write_bytes(org.keyring.sign_detached(data, who))


def unicode_pdf(*lines: str, text_at: tuple[float, float, str] | None = None) -> bytes:
    """A one-page PDF of `lines` (one a line) in the bulletins' Unicode font (glyph ids:
    the raw bytes show no letter), and `text_at`'s text drawn at its (x, y) in mm if given."""
    from fpdf import FPDF

    from temoin.site.bulletins.fonts import FAMILY, Fonts

    doc = FPDF()
    doc.add_page()
    with Fonts() as fonts:
        fonts.add_to(doc)
        doc.set_font(FAMILY, size=12)
        for line in lines:
            doc.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
        if text_at is not None:
            doc.text(*text_at)
        return bytes(doc.output())
