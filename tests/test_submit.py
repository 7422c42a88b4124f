"""The submit page: built by real MkDocs + Material, served on 127.0.0.1 under a 'self'-only
CSP, driven in headless Chromium; what the browser encrypts is decrypted by real gpg."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import functools
import hashlib
import html.parser
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from temoin import cases, config, keys
from temoin.errors import ConfigError, CryptoError
from temoin.intake import form as template
from temoin.intake import ingest as intake
from temoin.site import csp, submit, submit_ui
from tests.helpers import make_org, stop_gpg

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
CSP = "default-src 'self'"
ADDRESS = "temoignages@example.org"
VENDOR = Path(submit.__file__).parent / "assets" / "vendor"
ROOT = Path(__file__).resolve().parent.parent



def _need(tool: str | None, what: str) -> str:
    """The tool's path; without it skip locally, but fail in CI (a skip there hides a gap)."""
    if tool and Path(tool).exists():
        return tool
    if os.environ.get("CI"):
        pytest.fail(f"{what} missing: run `make test`, which installs it")
    pytest.skip(f"needs {what}")


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[keys.Keyring, str]]:
    """The organisation's inbox keyring (secret key inside) and the key's fingerprint."""
    home = tmp_path_factory.mktemp("inbox-gnupg")
    kr = keys.Keyring(home)
    fpr = kr.generate("SOS-Exemple inbox", ADDRESS)
    yield kr, fpr
    stop_gpg(home)


def _cfg(tmp: Path, fpr: str, **opts: Any) -> config.Config:
    base = {"organisation": "SOS-Exemple <&> *Co*", "contact_email": ADDRESS, "inbox_key": fpr,
            "country": "BI", "languages": ["fr", "en"]}
    return config.from_options(tmp, {**base, **opts})


@pytest.fixture(scope="module")
def generated(inbox: tuple[keys.Keyring, str], tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[list[submit.Page], list[submit.Asset]]:
    """What `submit.pages` returns for the inbox key."""
    kr, fpr = inbox
    cfg = _cfg(tmp_path_factory.mktemp("repo"), fpr)
    return submit.pages(cfg, kr.export_public(fpr), fpr)


@pytest.fixture(scope="module")
def site(generated: tuple[list[submit.Page], list[submit.Asset]],
         tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal real MkDocs + Material site holding the generated pages, built."""
    top = tmp_path_factory.mktemp("site")
    docs = top / "docs"
    pages, assets = generated
    for page in pages:
        (docs / page.path).parent.mkdir(parents=True, exist_ok=True)
        (docs / page.path).write_text(page.content, encoding="utf-8")
    for asset in assets:
        (docs / asset.path).parent.mkdir(parents=True, exist_ok=True)
        (docs / asset.path).write_bytes(asset.data)
    (docs / "index.md").write_text("# Accueil\n", encoding="utf-8")
    (top / "mkdocs.yml").write_text(
        "site_name: Témoin test\n"
        "theme: {name: material, language: fr, font: false}\n"
        "markdown_extensions: [md_in_html, attr_list, toc]\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                          "-f", str(top / "mkdocs.yml"), "-d", str(top / "site")],
                         capture_output=True, text=True, check=False,
                         env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return top / "site"


class _CSPHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the CSP the real site enforces."""

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", CSP)
        super().end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The built site on 127.0.0.1 (a random port), base URL."""
    handler = functools.partial(_CSPHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright."""
    _need(CHROMIUM, "/usr/bin/chromium (Debian package chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Tab:
    """A browser page whose every request off 127.0.0.1 is blocked and recorded."""

    def __init__(self, browser: Any, **context: Any) -> None:
        self.context = browser.new_context(**context)
        self.foreign: list[str] = []
        self.violations: list[dict[str, str]] = []
        self.context.route("**/*", self._route)
        self.context.expose_binding("temoinViolation",
                                    lambda _src, v: self.violations.append(v))
        # Runs before the page's scripts: records every CSP violation with its source.
        self.context.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => window.temoinViolation("
            "{directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile}));")
        self.page = self.context.new_page()

    def _route(self, route: Any) -> None:
        if urllib.parse.urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()
        assert self.foreign == [], f"requests left 127.0.0.1: {self.foreign}"
        ours = [v for v in self.violations
                if "/assets/temoin/" in (v.get("source") or "") + (v.get("blocked") or "")
                or (v.get("blocked") or "").startswith("blob")]
        assert ours == [], f"CSP violations caused by the submit page: {ours}"


@pytest.fixture()
def tab(browser: Any) -> Iterator[Tab]:
    """A fresh isolated browser tab, checked on close for foreign requests and CSP breaks."""
    t = Tab(browser)
    yield t
    t.close()


def _fill(page: Any, values: dict[str, str]) -> None:
    for key, value in values.items():
        if key == "consent":
            page.check(f'#temoin-consent input[value="{value}"]')
        else:
            page.fill(f"#temoin-{key}", value)


def _encrypt(page: Any) -> str:
    """Press "Encrypt" on a text-only form; the armored message it shows."""
    page.click("#temoin-go")
    # Selectors, not wait_for_function: a string predicate needs eval, which the CSP forbids.
    page.wait_for_selector("#temoin-result:not([hidden]), #temoin-status.temoin-error",
                           timeout=20_000)
    assert page.is_hidden("#temoin-status.temoin-error"), page.inner_text("#temoin-status")
    armored = str(page.input_value("#temoin-output"))
    assert armored.rstrip().endswith("-----END PGP MESSAGE-----")
    return armored


def _encrypt_file(page: Any, timeout: float = 60_000) -> bytes:
    """Press "Encrypt" with a file chosen; the bytes of the `message.gpg` it offers."""
    page.click("#temoin-go")
    page.wait_for_selector("#temoin-result-file:not([hidden]), #temoin-status.temoin-error",
                           timeout=timeout)
    assert page.is_hidden("#temoin-status.temoin-error"), page.inner_text("#temoin-status")
    assert page.is_hidden("#temoin-result")  # a file is never shown as text
    assert page.input_value("#temoin-output") == ""
    with page.expect_download() as info:
        page.click("#temoin-download-file")
    assert info.value.suggested_filename == "message.gpg"
    return Path(info.value.path()).read_bytes()


def _erase(page: Any) -> None:
    page.click("#temoin-clear")
    page.click("#temoin-clear-yes")


FR_VALUES = {
    "date": "03/10/2025",
    "place": "Colline Mubuga, commune Gitega, province de Gitega",
    "what": "Mon voisin a été arrêté par des agents en civil.\n"
            "Il a été torturé pendant deux nuits. « Témoin » ✓",
    "victims": "Un homme, adulte",
    "perpetrators": "Agents en civil, pick-up sans plaque",
    "witnesses": "Deux voisins",
    "contact": "Signal via un ami",
    "consent": "anonymised",
}


# -- in the browser ---------------------------------------------------------------------------

@pytest.mark.browser
def test_encrypt_in_browser_decrypts_to_the_filled_template(
        tab: Tab, server: str, inbox: tuple[keys.Keyring, str]) -> None:
    kr, fpr = inbox
    page = tab.page
    page.goto(server + "temoigner/")
    _fill(page, FR_VALUES)
    armored = _encrypt(page)
    assert armored.startswith("-----BEGIN PGP MESSAGE-----")
    assert "arrêté" not in armored and "Mubuga" not in armored

    result = kr.decrypt(armored.encode("ascii"))
    assert result.ok, result.reason
    text = result.plaintext.decode("utf-8")
    # Exactly the template Python writes for the same values: the intake parses this.
    assert text == template.fill("fr", FR_VALUES)
    assert template.parse(text, country="BI") == {
        "date": dt.date(2025, 10, 3),
        "place": FR_VALUES["place"], "admin1": "BI-GIT",
        "acts": ["arbitrary_arrest", "torture"], "consent": "anonymised"}
    assert page.inner_text("#temoin-status").startswith("Chiffré.")


@pytest.mark.browser
def test_encrypt_in_browser_with_a_file_makes_one_binary_message(
        tab: Tab, server: str, inbox: tuple[keys.Keyring, str]) -> None:
    kr, _ = inbox
    page = tab.page
    page.goto(server + "en/submit/")
    values = {"what": "They were abducted near the market.", "consent": "named"}
    _fill(page, values)
    blob = bytes(range(256)) * 40 + b"\r\n.\r\n--temoin-\r\n"  # binary, with MIME-ish bytes
    page.set_input_files("#temoin-file", files=[{
        "name": "photo d'été ü \"1\".jpg", "mimeType": "image/jpeg", "buffer": blob}])
    data = _encrypt_file(page)
    assert not data.startswith(b"-----BEGIN")  # binary OpenPGP, not armor
    assert page.inner_text("#temoin-status").startswith("Encrypted (")

    result = kr.decrypt(data)
    assert result.ok, result.reason
    assert result.plaintext.startswith(b"MIME-Version: 1.0\r\n")
    msg = email.message_from_bytes(result.plaintext, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/mixed"
    text_part, file_part = list(msg.iter_parts())
    assert text_part.get_content() == template.fill("en", values)
    assert file_part.get_content_type() == "image/jpeg"
    assert file_part.get_filename() == "photo d'été ü \"1\".jpg"
    assert file_part.get_payload(decode=True) == blob
    assert template.parse(text_part.get_content())["acts"] == ["abduction"]
    href = page.get_attribute("#temoin-mailto-file", "href")
    assert href == f"mailto:{ADDRESS}?subject=Hello"  # the file is attached, never in a URL


@pytest.mark.browser
def test_download_and_mailto_carry_the_whole_armored_message(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(server + "temoigner/")
    _fill(page, {"what": "Court témoignage.", "consent": "none"})
    armored = _encrypt(page)
    with page.expect_download() as info:
        page.click("#temoin-download")
    download = info.value
    assert download.suggested_filename == "message.asc"
    assert Path(download.path()).read_text(encoding="utf-8") == armored

    href = page.get_attribute("#temoin-mailto", "href")
    target, _, query = href.partition("?")
    assert target == f"mailto:{ADDRESS}"
    params = urllib.parse.parse_qs(query)
    assert params["body"] == [armored.replace("\n", "\r\n")]
    assert params["subject"] == ["Bonjour"]  # neutral: the subject travels unencrypted


@pytest.mark.browser
def test_encrypt_ignores_a_key_planted_in_the_page_and_shows_the_computed_fingerprint(
        tab: Tab, server: str, inbox: tuple[keys.Keyring, str], keyring: keys.Keyring) -> None:
    kr, fpr = inbox
    other = keyring.generate("Attacker", "attacker@example.org")
    page = tab.page
    page.goto(server + "temoigner/")
    # What the attack in issue 20 changed: the key shown in the page and its data attributes.
    page.evaluate("([key, f]) => { document.querySelector('#temoin-key pre code').textContent = "
                  "key; document.getElementById('temoin-encrypt').dataset.fingerprint = f; }",
                  [keyring.export_public(other), other])
    _fill(page, {"what": "x", "consent": "none"})
    armored = _encrypt(page)
    assert kr.decrypt(armored.encode("ascii")).ok  # still to the organisation's key
    assert page.inner_text("#temoin-key-used-fpr") == submit.group_fingerprint(fpr)


@pytest.mark.browser
def test_form_refuses_a_page_whose_fingerprint_was_changed(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(server + "en/submit/")
    page.evaluate("document.getElementById('temoin-fpr').textContent = 'ABCD '.repeat(10)")
    _fill(page, {"what": "x", "consent": "none"})  # starts loading OpenPGP.js
    page.wait_for_selector("#temoin-status.temoin-error")
    assert "page has been changed" in page.inner_text("#temoin-status")
    assert page.get_attribute("#temoin-status", "role") == "alert"
    assert page.is_hidden("#temoin-go")
    assert page.is_hidden("#temoin-result") and page.is_hidden("#temoin-result-file")


@pytest.mark.browser
def test_encrypt_requires_a_consent_choice(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(server + "temoigner/")
    _fill(page, {"what": "Sans réponse sur la publication."})
    page.click("#temoin-go")
    page.wait_for_selector("#temoin-status.temoin-error")
    # An error in words (not only red) with French spacing, announced at once, in red.
    assert page.inner_text("#temoin-status").startswith("Erreur\u00a0: Choisissez")
    assert "publication" in page.inner_text("#temoin-status")
    assert page.get_attribute("#temoin-status", "role") == "alert"
    assert page.eval_on_selector("#temoin-status",
                                 "e => getComputedStyle(e).color") == "rgb(176, 0, 32)"
    assert page.is_hidden("#temoin-result")
    assert page.evaluate("document.activeElement.name") == "temoin-consent"
    for code, _ in template.CONSENT_OPTIONS["fr"]:  # each answer explained, in words
        help_text = page.inner_text(f"#temoin-consent-{code}-help")
        assert len(help_text) > 40 and help_text == submit_ui.CONSENT_HELP["fr"][code]


@pytest.mark.browser
def test_encrypt_refuses_an_empty_form(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(server + "en/submit/")
    page.click("#temoin-go")
    page.wait_for_selector("#temoin-status.temoin-error")
    assert page.inner_text("#temoin-status").startswith("Error: The form is empty")
    assert page.get_attribute("#temoin-status", "role") == "alert"
    assert page.is_hidden("#temoin-result")


@pytest.mark.browser
def test_clear_asks_first_then_wipes_every_field_and_the_result(tab: Tab, server: str) -> None:
    page = tab.page
    page.goto(server + "temoigner/")
    _fill(page, FR_VALUES)
    _encrypt(page)
    page.click("#temoin-clear")
    assert page.is_visible("#temoin-erase-confirm")
    page.click("#temoin-clear-no")  # changing one's mind keeps everything
    assert page.is_hidden("#temoin-erase-confirm")
    assert page.input_value("#temoin-what") == FR_VALUES["what"]
    assert page.is_visible("#temoin-result")
    _erase(page)
    for key in ("date", "place", "what", "victims", "perpetrators", "witnesses", "contact"):
        assert page.input_value(f"#temoin-{key}") == ""
    assert not page.is_checked('#temoin-consent input[value="anonymised"]')
    assert page.input_value("#temoin-output") == ""
    assert page.get_attribute("#temoin-download", "href") == "#"
    assert page.is_hidden("#temoin-result")
    assert page.is_hidden("#temoin-erase-confirm")
    # Apart from "Encrypt": not in the same row, well below it.
    go, clear = page.locator("#temoin-go").bounding_box(), \
        page.locator("#temoin-clear").bounding_box()
    assert clear["y"] > go["y"] + 2 * go["height"]


@pytest.mark.browser
def test_page_without_javascript_shows_key_fingerprint_and_instructions(
        browser: Any, server: str, inbox: tuple[keys.Keyring, str]) -> None:
    _, fpr = inbox
    t = Tab(browser, java_script_enabled=False)
    try:
        for path, heading in (("temoigner/", "Conseils de sécurité"),
                              ("en/submit/", "Safety advice")):
            page = t.page
            page.goto(server + path)
            assert page.is_visible(f".temoin-address a[href^='mailto:{ADDRESS}']")
            page.click("#temoin-key-block summary")  # key, fingerprint, QR: one tap away
            assert page.is_visible("#temoin-key")
            assert "-----BEGIN PGP PUBLIC KEY BLOCK-----" in page.inner_text("#temoin-key")
            assert page.inner_text("#temoin-fpr") == submit.group_fingerprint(fpr)
            assert page.is_visible(".temoin-qr-box svg")
            assert page.is_visible("#temoin-nojs")
            assert page.is_hidden("#temoin-encrypt")
            assert page.get_by_role("heading", name=heading).is_visible()
            for tool in ("Thunderbird", "Proton Mail", "GnuPG", "Mailvelope", "OpenKeychain"):
                assert page.locator("summary", has_text=tool).is_visible()
            assert page.is_visible("#temoin-template-fr" if path == "temoigner/"
                                   else "#temoin-template-en")
    finally:
        t.close()


@pytest.mark.browser
def test_qr_code_decodes_to_the_fingerprint(tab: Tab, server: str, tmp_path: Path,
                                            inbox: tuple[keys.Keyring, str]) -> None:
    zbarimg = _need(shutil.which("zbarimg"), "zbarimg (Debian package zbar-tools)")
    _, fpr = inbox
    tab.page.goto(server + "temoigner/")
    tab.page.click("#temoin-key-block summary")
    shot = tmp_path / "qr.png"
    tab.page.locator(".temoin-qr-box svg").screenshot(path=str(shot))
    out = subprocess.run([zbarimg, "--raw", "-q", str(shot)], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"OPENPGP4FPR:{fpr}"


@pytest.mark.browser
def test_published_key_imports_with_the_configured_fingerprint(
        tab: Tab, server: str, keyring: keys.Keyring, inbox: tuple[keys.Keyring, str]) -> None:
    _, fpr = inbox
    for path in ("temoigner/", "en/submit/"):
        tab.page.goto(server + path)
        # The link on the page, resolved the way the browser resolves it.
        href = tab.page.eval_on_selector("a[download='inbox.asc']", "a => a.href")
        assert href == server + "keys/inbox.asc"
    with urllib.request.urlopen(server + "keys/inbox.asc") as resp:  # noqa: S310 - 127.0.0.1
        published = resp.read()
    # The key the page encrypts to is, byte for byte, the key file it offers.
    shown = tab.page.eval_on_selector("#temoin-key pre code", "c => c.textContent")
    assert (shown + "\n").encode() == published
    assert keyring.import_keys(published) == [fpr]  # a fresh, empty keyring
    assert keyring.list(secret=True) == []


@pytest.mark.browser
def test_harness_records_and_blocks_a_request_off_127_0_0_1(browser: Any, server: str) -> None:
    # The guard every browser test relies on: prove it sees a foreign request (CSP bypassed
    # here only so the request reaches the router) and would fail the test.
    t = Tab(browser, bypass_csp=True)
    t.page.goto(server + "temoigner/")
    t.page.evaluate("() => { const i = new Image(); i.src = 'http://foreign.invalid/x.png'; "
                    "document.body.append(i); }")
    t.page.wait_for_timeout(300)
    assert t.foreign == ["http://foreign.invalid/x.png"]
    with pytest.raises(AssertionError, match="requests left 127.0.0.1"):
        t.close()


@pytest.fixture()
def tampered(site: Path, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the built site, served on 127.0.0.1: (its folder, its base URL)."""
    copy = tmp_path / "site"
    shutil.copytree(site, copy)
    handler = functools.partial(_CSPHandler, directory=str(copy))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield copy, f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


def _pinned(script: bytes) -> dict[str, Any]:
    """The PINNED object of a generated submit.js (its second line)."""
    line = script.decode("utf-8").split("\n")[1]
    assert line.startswith("const PINNED = Object.freeze(") and line.endswith(");")
    return dict(json.loads(line[len("const PINNED = Object.freeze("):-2]))


def _loaded_scripts(page: Any) -> list[str]:
    return list(page.evaluate("[...document.scripts].map(s => s.src)"))


@pytest.mark.browser
def test_a_changed_submit_script_never_runs(browser: Any, tampered: tuple[Path, str],
                                            keyring: keys.Keyring) -> None:
    # Issue 20: a script file swapped on the server (or a mirror) to encrypt to another key.
    folder, base = tampered
    js = folder / "assets" / "temoin" / "submit.js"
    other = keyring.generate("Attacker", "attacker@example.org")
    pinned = _pinned(js.read_bytes())
    pinned["key"] = keyring.export_public(other)
    lines = js.read_text().split("\n")
    lines[1] = f"const PINNED = Object.freeze({json.dumps(pinned)});"
    js.write_text("\n".join(lines))
    t = Tab(browser)
    errors: list[str] = []
    t.page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        t.page.goto(base + "temoigner/")
        t.page.wait_for_timeout(300)
        assert t.page.is_hidden("#temoin-encrypt")  # the form never appears
        assert t.page.is_visible("#temoin-nojs")    # the page says to use other software
        assert any("integrity" in e for e in errors), errors
    finally:
        t.close()


@pytest.mark.browser
def test_a_changed_openpgp_library_is_refused(browser: Any, tampered: tuple[Path, str]) -> None:
    folder, base = tampered
    lib = folder / "assets" / "temoin" / "vendor" / "openpgp.min.mjs"
    lib.write_bytes(lib.read_bytes() + b"\nglobalThis.leak = 1;\n")
    t = Tab(browser)
    try:
        page = t.page
        page.goto(base + "en/submit/")
        _fill(page, {"what": "x", "consent": "none"})
        page.click("#temoin-go")
        page.wait_for_selector("#temoin-status.temoin-error", timeout=20_000)
        assert "could not be loaded or checked" in page.inner_text("#temoin-status")
        assert page.is_hidden("#temoin-result")
        assert page.evaluate("globalThis.leak === undefined")  # its code never ran
    finally:
        t.close()


@pytest.mark.browser
def test_openpgp_loads_when_the_source_starts_filling_the_form(tab: Tab, server: str,
                                                              inbox: tuple[keys.Keyring, str]
                                                              ) -> None:
    _, fpr = inbox
    page = tab.page
    page.goto(server + "temoigner/")
    page.wait_for_timeout(300)
    assert not any("openpgp" in src for src in _loaded_scripts(page))
    assert page.is_hidden("#temoin-key-used")
    page.focus("#temoin-what")
    page.wait_for_selector("#temoin-key-used:not([hidden])")
    lib = [src for src in _loaded_scripts(page) if "openpgp" in src]
    assert lib == [server + "assets/temoin/vendor/openpgp.min.mjs"]
    integrity = page.evaluate("[...document.scripts].find(s => s.src.includes('openpgp'))"
                              ".integrity")
    assert integrity == csp.sri((VENDOR / "openpgp.min.mjs").read_bytes())
    assert page.inner_text("#temoin-key-used-fpr") == submit.group_fingerprint(fpr)


@pytest.mark.browser
def test_form_comes_first_on_a_phone(browser: Any, server: str) -> None:
    t = Tab(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        for path in ("temoigner/", "en/submit/"):
            page = t.page
            page.goto(server + path)
            form = page.locator("#temoin-encrypt").bounding_box()
            key = page.locator("#temoin-key-block").bounding_box()
            assert form["y"] < 1100, form  # ~2,050 px down, after key and QR, before
            assert key["y"] > form["y"]
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            page.screenshot(path=f"/tmp/temoin-submit-390-{path.split('/')[0]}.png",
                            full_page=True)
    finally:
        t.close()


def _ingest_one(org: Any, data: bytes, name: str) -> dict[str, Any]:
    """Drop `data` into the org's inbox as `name`, run the real ingest; the private part."""
    (org.repo / "inbox" / name).write_bytes(data)
    results = intake.ingest(org.repo, org.cfg, org.keyring, [org.repo / "inbox" / name])
    assert [r.result for r in results] == ["ingested"], results
    return cases.read_private(org.repo, str(results[0].case), org.keyring)


@pytest.mark.browser
def test_ten_megabyte_file_round_trips_through_gpg_and_ingest(
        tab: Tab, server: str, inbox: tuple[keys.Keyring, str], tmp_path: Path) -> None:
    kr, fpr = inbox
    evidence = tmp_path / "vidéo 2025-10-03.mp4"
    evidence.write_bytes(os.urandom(10 * 1000 * 1000))  # incompressible, like a video
    values = {"what": "Ils ont arrêté mon voisin devant le marché.", "consent": "anonymised"}
    page = tab.page
    page.goto(server + "temoigner/")
    _fill(page, values)
    page.set_input_files("#temoin-file", str(evidence))
    data = _encrypt_file(page, timeout=120_000)  # speed: `make bench`, not asserted here

    plain = kr.decrypt(data, max_output=64 * 1024 * 1024)
    assert plain.ok, plain.reason
    msg = email.message_from_bytes(plain.plaintext, policy=email.policy.default)
    text_part, file_part = list(msg.iter_parts())
    assert file_part.get_payload(decode=True) == evidence.read_bytes()
    assert text_part.get_content() == template.fill("fr", values)

    # The same form, text only (the armored path), for comparison.
    _erase(page)
    _fill(page, values)
    armored = _encrypt(page)

    org = make_org(tmp_path, kr, {"inbox": fpr, **_editors(kr)})
    assert len(data) <= org.cfg.max_submission_bytes
    with_file = _ingest_one(org, data, "message.gpg")
    text_only = _ingest_one(org, armored.encode("ascii"), "message.asc")
    sha = hashlib.sha256(evidence.read_bytes()).hexdigest()
    assert [(e["name"], e["sha256"], e["size"]) for e in with_file["evidence"]] == [
        (evidence.name, sha, evidence.stat().st_size)]
    assert with_file["consent_requested"] == text_only["consent_requested"] == "anonymised"
    assert with_file["template"] == text_only["template"]
    assert with_file["testimony"].strip() == text_only["testimony"].strip()


def _editors(kr: keys.Keyring) -> dict[str, str]:
    """Alice and Bob in the inbox keyring (generated once per module)."""
    found = {k.uids[0].split()[0].lower(): k.fingerprint for k in kr.list()
             if k.uids and k.uids[0].split()[0] in ("Alice", "Bob")}
    for name in ("alice", "bob"):
        if name not in found:
            found[name] = kr.generate(name.title(), f"{name}@example.invalid")
    return found


# -- the generated page, statically -----------------------------------------------------------

class _Inline(html.parser.HTMLParser):
    """Collects what a 'self'-only CSP would block: inline scripts, styles, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            if not a.get("src"):
                self.problems.append("inline <script>")
            else:
                self.scripts.append(str(a["src"]))
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("src", "href", "action", "srcset") and value and \
                    re.match(r"\s*(?:[a-z]+:)?//", value, re.I):
                self.problems.append(f"<{tag} {name}={value}> leaves the site")
            if name in ("src", "href") and value and \
                    re.match(r"\s*(?:javascript|data):", value, re.I):
                self.problems.append(f"<{tag} {name}={value}>")


@pytest.mark.parametrize(("lang", "depth"), [("fr", "../"), ("en", "../../")])
def test_built_page_needs_nothing_but_self(site: Path, lang: str, depth: str) -> None:
    page = {"fr": "temoigner/index.md", "en": "en/submit/index.md"}[lang]
    built = (site / page.replace(".md", ".html")).read_text(encoding="utf-8")
    article = built[built.index('<article class="md-content__inner'):built.index("</article>")]
    parser = _Inline()
    parser.feed(article)
    assert parser.problems == []
    assert parser.scripts == [f"{depth}assets/temoin/submit.js"]
    # Pinned by Subresource Integrity: the browser runs these bytes or nothing.
    script = (site / "assets" / "temoin" / "submit.js").read_bytes()
    assert f'src="{depth}assets/temoin/submit.js" integrity="{csp.sri(script)}"' in article
    assert "<form" not in article  # nothing can be submitted to a server
    assert "data-fingerprint" not in article and "data-max-file" not in article
    assert f'href="{depth}assets/temoin/submit.css"' in article
    assert f'href="{depth}keys/inbox.asc"' in article


def test_script_pins_the_key_the_library_and_the_messages(
        generated: tuple[list[submit.Page], list[submit.Asset]], inbox: tuple[keys.Keyring, str]
        ) -> None:
    kr, fpr = inbox
    pages, assets = generated
    by_path = {a.path: a.data for a in assets}
    script = by_path["assets/temoin/submit.js"]
    pinned = _pinned(script)
    # The key it encrypts to is, byte for byte, the key the site publishes and signs.
    assert pinned["key"].encode() == by_path["keys/inbox.asc"]
    assert pinned["openpgp"] == {"src": "./vendor/openpgp.min.mjs", "integrity": csp.sri(
        by_path["assets/temoin/vendor/openpgp.min.mjs"])}
    assert pinned["maxFile"] >= 10 * 1024 * 1024  # a phone photo or a short video
    assert pinned["messages"] == submit_ui.JS_UI
    assert set(submit_ui.JS_UI["fr"]) == set(submit_ui.JS_UI["en"])
    assert script.split(b"\n")[1].isascii()
    for page in pages:  # the page pins this exact file and names no key for the script
        assert f'integrity="{csp.sri(script)}"' in page.content
        assert "data-fingerprint" not in page.content


def test_policy_lists_the_pinned_scripts_by_hash(site: Path) -> None:
    built = (site / "temoigner" / "index.html").read_text(encoding="utf-8")
    policy = csp.policy_for(csp.scan(built))
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src")).split()
    script = (site / "assets" / "temoin" / "submit.js").read_bytes()
    lib = (VENDOR / "openpgp.min.mjs").read_bytes()
    assert f"'{csp.sri(script)}'" in script_src and f"'{csp.sri(lib)}'" in script_src
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    # A hash for a file on another host is never listed, whatever its integrity says.
    other = csp.scan('<script src="https://cdn.example/x.js" integrity="sha384-AAAA"></script>'
                     '<script src="//cdn.example/y.js" integrity="sha384-BBBB"></script>')
    assert "sha384" not in csp.policy_for(other)


def test_max_submission_fits_a_ten_megabyte_file_after_encryption_and_mail(
        tmp_path: Path) -> None:
    cfg = config.from_options(tmp_path, {})
    data = 10 * 1000 * 1000
    gpg = data * 4 / 3 * 78 / 76 + 4096      # base64 in the inner MIME, OpenPGP framing
    mail = gpg * 4 / 3 * 78 / 76 + 8192      # base64 again as an email attachment
    assert mail <= cfg.max_submission_bytes
    assert submit.max_file_bytes(cfg.max_submission_bytes) >= data
    assert cfg.max_plaintext_bytes == 64 * 1024 * 1024  # the bomb limit is unchanged


def test_pages_escape_the_organisation_name(generated: tuple[list[submit.Page], Any]) -> None:
    pages, _ = generated
    for page in pages:
        assert "SOS-Exemple <&>" not in page.content and "*Co*" not in page.content
        assert "SOS\\-Exemple &lt;&amp;&gt; \\*Co\\*" in page.content


def test_pages_are_deterministic(inbox: tuple[keys.Keyring, str], tmp_path: Path,
                                 generated: tuple[list[submit.Page], list[submit.Asset]]
                                 ) -> None:
    kr, fpr = inbox
    assert submit.pages(_cfg(tmp_path, fpr), kr.export_public(fpr), fpr) == generated


def test_pages_follow_the_configured_languages(inbox: tuple[keys.Keyring, str],
                                               tmp_path: Path) -> None:
    kr, fpr = inbox
    pages, assets = submit.pages(_cfg(tmp_path, fpr, languages=["fr"]), kr.export_public(fpr),
                                 fpr.lower())
    assert [p.path for p in pages] == ["temoigner/index.md"]
    assert {a.path for a in assets} >= {"keys/inbox.asc", "assets/temoin/submit.js",
                                        "assets/temoin/submit.css",
                                        "assets/temoin/vendor/openpgp.min.mjs",
                                        "assets/temoin/template-fr.txt"}


def test_pages_refuse_a_secret_key_block(inbox: tuple[keys.Keyring, str], tmp_path: Path) -> None:
    kr, fpr = inbox
    with pytest.raises(CryptoError, match="SECRET key block"):
        submit.pages(_cfg(tmp_path, fpr), kr.export_secret(fpr), fpr)


def test_pages_refuse_a_key_that_is_not_the_configured_one(
        inbox: tuple[keys.Keyring, str], tmp_path: Path, keyring: keys.Keyring) -> None:
    kr, fpr = inbox
    other = keyring
    other_fpr = other.generate("Someone else", "else@example.org")
    with pytest.raises(CryptoError, match=f"expected only {fpr}"):
        submit.pages(_cfg(tmp_path, fpr), other.export_public(other_fpr), fpr)
    with pytest.raises(CryptoError, match="expected only"):  # two keys in one block
        submit.pages(_cfg(tmp_path, fpr), kr.export_public(fpr) + other.export_public(other_fpr),
                     fpr)
    with pytest.raises(CryptoError, match="public key block"):
        submit.pages(_cfg(tmp_path, fpr), "hello", fpr)


@pytest.mark.parametrize("address", ["", "not an address", 'a@b.org"><script>x</script>',
                                     "a@b.org?body=hi", "a@b.org\nBcc: c@d.org", "a@b.org\n"])
def test_pages_refuse_a_missing_or_malformed_address(
        inbox: tuple[keys.Keyring, str], tmp_path: Path, address: str) -> None:
    kr, fpr = inbox
    with pytest.raises(ConfigError, match="contact_email"):
        submit.pages(_cfg(tmp_path, fpr, contact_email=address), kr.export_public(fpr), fpr)


def test_footer_html_groups_the_fingerprint_and_rejects_garbage() -> None:
    fpr = "0123456789ABCDEF0123456789ABCDEF01234567"
    assert submit.footer_html(fpr.lower(), "en") == (
        '<p class="temoin-footer-fpr">Testimony inbox key: <code class="temoin-fpr">'
        "0123 4567 89AB CDEF 0123 4567 89AB CDEF 0123 4567</code></p>")
    assert "Clé de réception des témoignages\u00a0:" in submit.footer_html(fpr, "fr")
    for bad in ("", "XYZ", fpr[:-1], fpr + "<script>", "0x" + fpr):
        with pytest.raises(ConfigError, match="fingerprint"):
            submit.footer_html(bad, "fr")


def test_vendored_openpgp_matches_its_recorded_sha256() -> None:
    sums = (VENDOR / "SHA256SUMS").read_text().split("\n")
    recorded = dict(reversed(line.split("  ", 1)) for line in sums if line.strip())
    assert set(recorded) == {"openpgp.min.mjs", "LICENSE.openpgp"}
    for name, digest in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    script = (ROOT / "scripts" / "vendor_openpgp.sh").read_text()
    version = re.search(r'^VERSION="([0-9.]+)"', script, re.M).group(1)  # type: ignore[union-attr]
    head = (VENDOR / "openpgp.min.mjs").read_bytes()[:120].decode()
    assert head.startswith(f"/*! OpenPGP.js v{version} ")
    readme = (VENDOR / "README.md").read_text()
    assert f"openpgp@{version}" in readme and recorded["openpgp.min.mjs"] in readme
