"""The submit page: our public key, how to write to us safely, and encryption in the browser.

`pages()` returns the French page `temoigner/index.md` (URL /temoigner/) and the English one
`en/submit/index.md` (URL /en/submit/), for each language in `cfg.languages` (under the
language's folder unless it is the default: `path`), plus assets:

- `keys/inbox.asc`, the public inbox key the pages link to (and show in a `<pre>`);
- `assets/temoin/submit.js`, written here at build time: the packaged script behind one
  line, `const PINNED = {...}`, holding the inbox key (checked against `cfg.inbox_key`), the
  SRI of OpenPGP.js and the interface strings. The key, the script and what it loads are
  thus one file, listed in the signed SHA256SUMS;
- `submit.css`, `vendor/openpgp.min.mjs` (pinned OpenPGP.js, see `assets/vendor/README.md`),
  and `template-fr.txt` / `template-en.txt`.

How the page pins what runs (DESIGN.md, "The submit page is what the organisation signed"):
the page loads `submit.js` with `integrity="sha384-…"` (Subresource Integrity), so the
browser runs it only if its bytes are the ones built; `csp.policy_for` lists that hash and
OpenPGP.js's in the page's script-src. `submit.js` never takes a key or a fingerprint from the
page: it encrypts to `PINNED.key` and shows the fingerprint it computes from that key
object. It loads OpenPGP.js when the source starts filling the form, through a
`<script type=module integrity=…>` element it adds (a bare `import()` has no integrity), and
imports the module only once that element has loaded: the module map then holds the checked
module. A page whose shown fingerprint differs from the computed one is refused as tampered.

The page needs nothing but 'self' and those hashes: no inline script or style, no event
handler attribute, no 'unsafe-eval'. Downloads are `blob:` URLs in `<a download>` links,
which no fetch directive governs. A testimony with a file becomes one binary OpenPGP message
(`message.gpg`) holding a MIME multipart: the filled template as text/plain, the file as an
attachment with its RFC 2231 name; the intake reads it as it reads the armored text form.
Without JavaScript the page still shows the address, key, fingerprint, QR code,
instructions and template; the form stays hidden.

The QR code encodes `OPENPGP4FPR:<40 or 64 hex, upper case>`, the URI form OpenKeychain and
other OpenPGP apps read to confirm a key by fingerprint.
"""

from __future__ import annotations

import html
import json
import re
import string
import tempfile
import time
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import segno

from temoin import keys
from temoin.config import Config, is_email
from temoin.errors import ConfigError, CryptoError
from temoin.intake import form as template
from temoin.site import Asset, Page, csp, langs
from temoin.site.submit_ui import CONSENT_HELP, JS_UI, UI
from temoin.site.text import french_spacing

FOLDERS = {"fr": "temoigner", "en": "submit"}  # the section's name in each language
TITLES = {"fr": "Témoigner en sécurité", "en": "Send a testimony safely"}
KEY_PATH = "keys/inbox.asc"
FPR_PATH = "keys/inbox-fingerprint.txt"
ASSET_DIR = "assets/temoin"
_FPR = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")
# What the encrypted result may weigh: the intake refuses ciphertext over
# cfg.max_submission_bytes. A file is base64 in the inner MIME (x 4/3 x 78/76), then the
# .gpg file is base64 again when attached to an email (the same): about 1.87 times.
_GROWTH = 1.9
OPENPGP = "vendor/openpgp.min.mjs"
_CODE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)  # Markdown code: left as written
_COLON = {"fr": "\u00a0:", "en": ":"}  # French puts a (no-break) space before a colon


def pages(cfg: Config, inbox_key_armored: str, fingerprint: str) -> tuple[list[Page], list[Asset]]:
    """The submit pages (one per configured language) and every asset they use.

    Refuses (ConfigError/CryptoError) a secret key block, a key whose fingerprint is not
    `fingerprint`, an expired key, or a missing or malformed `cfg.contact_email`: a submit
    page that sends sources to the wrong key or nowhere must not be built.
    """
    fpr = normalise_fingerprint(fingerprint)
    address = _address(cfg.contact_email)
    armored = _check_key(inbox_key_armored, fpr)
    qr = qr_svg(fpr)
    script = submit_script(armored, cfg.max_submission_bytes)
    css = _resource("submit.css").read_bytes()
    pins = {"script": csp.sri(script), "css": csp.sri(css)}
    out_pages = []
    for lang in ("fr", "en"):
        if lang in cfg.languages:
            out_pages.append(Page(path(lang, cfg), _page(lang, cfg, armored, fpr, address,
                                                         qr, pins), TITLES[lang]))
    assets = [Asset(KEY_PATH, armored.encode("utf-8")),
              # In SHA256SUMS, which that key signs: readers and mirrors compare the key they
              # use with the one the signed manifest vouches for.
              Asset(FPR_PATH, f"{fpr}\n{group_fingerprint(fpr)}\nOPENPGP4FPR:{fpr}\n"
                    .encode("ascii")),
              Asset(f"{ASSET_DIR}/submit.js", script),
              Asset(f"{ASSET_DIR}/submit.css", css)]
    for name in (OPENPGP, "vendor/LICENSE.openpgp"):
        assets.append(Asset(f"{ASSET_DIR}/{name}", _resource(name).read_bytes()))
    for lang in template.LANGS:
        assets.append(Asset(f"{ASSET_DIR}/template-{lang}.txt",
                            template.text(lang).encode("utf-8")))
    return out_pages, sorted(assets, key=lambda a: a.path)


def max_file_bytes(max_submission_bytes: int) -> int:
    """The largest file the form takes: its encrypted email must fit the intake's limit."""
    return int(max_submission_bytes / _GROWTH)


def submit_script(armored_key: str, max_submission_bytes: int) -> bytes:
    """`submit.js` as the site serves it: one `const PINNED` line, then the packaged script.

    PINNED holds what the script trusts and nothing in the page may change: the inbox key
    it encrypts to (the fingerprint it shows is computed from it), the SRI of the OpenPGP.js
    it loads, the largest file it takes, and its messages in each language. JSON with
    every non-ASCII character escaped: one ASCII line, the same bytes on every build.
    """
    pinned = {
        "key": armored_key,
        "openpgp": {"src": f"./{OPENPGP}", "integrity": csp.sri(_resource(OPENPGP)
                                                                 .read_bytes())},
        "maxFile": max_file_bytes(max_submission_bytes),
        "messages": JS_UI,
    }
    head = ("// Generated by `temoin build` from the signed inbox key: do not edit (the page "
            "pins this file's sha384).\n"
            f"const PINNED = Object.freeze({json.dumps(pinned, sort_keys=True)});\n")
    return head.encode("ascii") + _resource("submit.js").read_bytes()


def footer_html(fingerprint: str, lang: str) -> str:
    """One line for every page's footer: the inbox key's fingerprint, grouped by four."""
    fpr = normalise_fingerprint(fingerprint)
    lang = lang if lang in UI else "fr"
    return (f'<p class="temoin-footer-fpr">{html.escape(UI[lang]["footer"])}{_COLON[lang]} '
            f'<code class="temoin-fpr">{group_fingerprint(fpr)}</code></p>')


def normalise_fingerprint(fingerprint: str) -> str:
    """Upper-case hex without spaces; ConfigError unless 40 (v4) or 64 (v5/v6) hex digits."""
    fpr = "".join(str(fingerprint or "").split()).upper()
    if not _FPR.match(fpr):
        raise ConfigError(f"inbox key fingerprint: expected 40 hex digits, got {fingerprint!r}; "
                          "set plugins.temoin.inbox_key in mkdocs.yml "
                          "(`temoin keys list` shows it)")
    return fpr


def group_fingerprint(fpr: str) -> str:
    """'ABCD EF01 …': groups of four, as gpg and OpenPGP apps print it."""
    return " ".join(fpr[i:i + 4] for i in range(0, len(fpr), 4))


def qr_svg(fpr: str) -> str:
    """Inline SVG (no style attribute, no script) of a QR code holding OPENPGP4FPR:<fpr>."""
    qr = segno.make(f"OPENPGP4FPR:{fpr}", error="m", micro=False)
    return str(qr.svg_inline(scale=5, border=4, dark="#000", light="#fff",
                             svgclass="temoin-qr", lineclass=None,
                             title=f"OPENPGP4FPR:{fpr}"))


def _resource(name: str) -> Traversable:
    return resources.files("temoin.site").joinpath("assets", name)


def _address(email: str) -> str:
    email = (email or "").strip()
    if not is_email(email):  # conservative: it goes into a mailto: URL and HTML as is
        raise ConfigError(f"mkdocs.yml: plugins.temoin.contact_email: expected the address "
                          f"sources write to (name@domain), got {email!r}; the submit page "
                          "cannot be built without it")
    return email


def _armor(armored: str) -> str:
    """The armored key as the page and `submit.js` carry it (newlines normalised)."""
    return str(armored or "").replace("\r\n", "\n").strip() + "\n"


def generated_scripts(cfg: Config, inbox_key_armored: str) -> list[bytes]:
    """The scripts the build writes from signed inputs (`submit.js` for the inbox key the
    trust root names), computed apart from the built site: what the publication gate's
    allow-list (`script_policy.allowed_scripts`) adds to Material's and the vendored ones."""
    if not inbox_key_armored.strip():
        return []
    return [submit_script(_armor(inbox_key_armored), cfg.max_submission_bytes)]


def _check_key(armored: str, fpr: str) -> str:
    """The armored public key, checked in a throwaway keyring: only `fpr`, public, unexpired."""
    text = _armor(armored)
    if "PRIVATE KEY BLOCK" in text:
        raise CryptoError("refusing to publish the inbox key: it is a SECRET key block. Give "
                          "the public part (`temoin keys export`), never the secret key")
    if not text.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----") or \
            "-----END PGP PUBLIC KEY BLOCK-----" not in text:
        raise CryptoError("inbox key: expected one ASCII-armored public key block "
                          "(-----BEGIN PGP PUBLIC KEY BLOCK-----)")
    with tempfile.TemporaryDirectory(prefix="temoin-submit-") as tmp:
        path = Path(tmp) / "inbox.asc"
        path.write_text(text, encoding="utf-8")  # a public key: nothing secret on disk
        with keys.public_keyring([path]) as kr:
            found = kr.list()
            secret = kr.list(secret=True)
    if secret:
        raise CryptoError("refusing to publish the inbox key: it carries secret key material")
    fprs = [k.fingerprint for k in found]
    if fprs != [fpr]:
        raise CryptoError(f"inbox key: the published key holds {', '.join(fprs) or 'no key'}, "
                          f"expected only {fpr} (plugins.temoin.inbox_key); export the right "
                          "key with `temoin keys export`")
    expires = found[0].expires
    if expires and expires.isdigit() and int(expires) < time.time():
        raise CryptoError(f"inbox key {fpr} has expired: sources could not encrypt to it; "
                          "extend it (gpg --quick-set-expire) and export it again")
    return text


def _md(text: str) -> str:
    """Text safe inside Markdown (and HTML): no markup, no link, no emphasis."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def path(lang: str, cfg: Config) -> str:
    """The docs path of the submit page in `lang`: its section folder, under the language's
    own folder unless it is the site's default (`temoigner/index.md`, `en/submit/index.md`;
    `submit/index.md` and `fr/temoigner/index.md` on an English-first site)."""
    return f"{langs.prefix(lang, cfg)}{FOLDERS[lang]}/index.md"


def _rel(page: str) -> str:
    """Prefix from a page at `page` (a folder's index.md) back to the site root."""
    return "../" * page.count("/")


def _page(lang: str, cfg: Config, armored: str, fpr: str, address: str, qr: str,
          pins: dict[str, str]) -> str:
    ui = UI[lang]
    root = _rel(path(lang, cfg))
    e = html.escape
    colon = _COLON[lang]
    address_line = (f'<p class="temoin-address">{e(ui["address"])}{colon} '
                    f'<a href="mailto:{e(address)}"><strong>{e(address)}</strong></a></p>')
    # Below the form on every screen (a phone shows the form first), in a disclosure: the
    # address stays in view, the key, its fingerprint and the QR code one tap away.
    key_block = "\n".join([
        address_line,
        '<details class="temoin-key-block" id="temoin-key-block">',
        f'<summary>{e(ui["key_summary"])}</summary>',
        f'<p>{e(ui["fingerprint"])}{colon}<br>'
        f'<code class="temoin-fpr" id="temoin-fpr">{group_fingerprint(fpr)}</code></p>',
        f'<p class="temoin-verify">{e(ui["verify"])}</p>',
        f'<div class="temoin-qr-box" role="img" aria-label="{e(ui["qr"])}">{qr}</div>',
        f'<p><a class="md-button" href="{root}{KEY_PATH}" download="inbox.asc" '
        f'type="application/pgp-keys">{e(ui["download_key"])}</a></p>',
        f'<p class="temoin-key-title">{e(ui["show_key"])}{colon}</p>',
        # The id sits on a wrapper: Material's JavaScript renames the ids of <pre> blocks.
        f'<div id="temoin-key"><pre class="temoin-key"><code>{e(armored.rstrip())}</code></pre>'
        "</div>",
        "</details>",
    ])
    values = {
        "organisation": _md(cfg.organisation),
        "address_md": f"`{address}`",
        "fpr": fpr,
        "key_block": key_block,
        "form": _form(lang, address, cfg.max_submission_bytes, root, pins),
        "key_href": f"{root}{KEY_PATH}",
        "template_fr": _template_block("fr"),
        "template_en": _template_block("en"),
        "template_href_fr": f"{root}{ASSET_DIR}/template-fr.txt",
        "template_href_en": f"{root}{ASSET_DIR}/template-en.txt",
    }
    body = _resource(f"submit.{lang}.md").read_text(encoding="utf-8")
    if lang == "fr":  # the prose, not its commands (code) nor the values put in below
        body = "".join(part if i % 2 else french_spacing(part)
                       for i, part in enumerate(_CODE.split(body)))
    return string.Template(body).substitute(values)


def _template_block(lang: str) -> str:
    return (f'<pre class="temoin-template" id="temoin-template-{lang}"><code>'
            f"{html.escape(template.text(lang).rstrip())}</code></pre>")


def _form(lang: str, address: str, max_bytes: int, root: str, pins: dict[str, str]) -> str:
    """The encryption form: hidden until submit.js shows it; no <form>, nothing to submit.

    No `name` on text fields and no <form> element, so nothing can ever be submitted to a
    server, even by accident; spellcheck off so no browser sends the text to a spelling
    service; autocomplete off so the browser keeps no copy of what was typed. The page
    carries the template's labels (what the form writes) but no key, fingerprint or limit:
    those are in the pinned script.
    """
    ui = UI[lang]
    e = html.escape
    colon = _COLON[lang]
    attrs = 'autocomplete="off" spellcheck="false" autocapitalize="sentences"'
    max_mb = max_file_bytes(max_bytes) // (1024 * 1024)
    lines = [
        f'<p class="temoin-nojs" id="temoin-nojs">{e(ui["nojs"])}</p>',
        f'<div class="temoin-encrypt" id="temoin-encrypt" hidden data-lang="{lang}" '
        f'data-address="{e(address)}" '
        f'data-begin="{e(template.BEGIN[lang])}" data-intro="{e(template.INTRO[lang])}" '
        f'data-end="{e(template.END[lang])}">',
        # Inside a block element, so Markdown leaves it alone; a hidden parent does not
        # stop a stylesheet from applying to the whole page.
        f'<link rel="stylesheet" href="{root}{ASSET_DIR}/submit.css" '
        f'integrity="{pins["css"]}">',
        f'<p class="temoin-local">{e(ui["local"])}</p>',
        # Filled by submit.js with the fingerprint it computes from the key it encrypts to.
        f'<p class="temoin-key-used" id="temoin-key-used" hidden>{e(ui["key_used"])}{colon} '
        '<code class="temoin-fpr" id="temoin-key-used-fpr"></code></p>',
    ]
    for f in template.FIELDS:
        fid = f"temoin-{f.key}"
        shown = f.label(lang).rstrip(" :")
        common = (f'id="{fid}" class="temoin-field" data-key="{f.key}" '
                  f'data-label="{e(f.label(lang))}" data-multiline="{str(f.multiline).lower()}"')
        control = (f'<textarea {common} rows="{6 if f.key == "what" else 3}" {attrs}>'
                   "</textarea>" if f.multiline else f'<input type="text" {common} {attrs}>')
        lines.append(f'<p><label for="{fid}">{e(shown)}</label><br>{control}</p>')
    lines.append(f'<fieldset class="temoin-consent" id="temoin-consent" '
                 f'data-label="{e(template.CONSENT_LABEL[lang])}" '
                 'aria-describedby="temoin-consent-note">'
                 f'<legend>{e(ui["consent"])}</legend>')
    for code, option in template.CONSENT_OPTIONS[lang]:
        rid = f"temoin-consent-{code}"
        lines.append(f'<div class="temoin-choice"><input type="radio" name="temoin-consent" '
                     f'id="{rid}" value="{code}" data-option="{e(option)}" required '
                     f'aria-describedby="{rid}-help"> <label for="{rid}">'
                     f'{e(option[:1].upper() + option[1:])}</label>'
                     f'<p class="temoin-help" id="{rid}-help">{e(CONSENT_HELP[lang][code])}'
                     "</p></div>")
    lines += [
        f'<p class="temoin-help" id="temoin-consent-note">{e(ui["consent_note"])}</p>',
        "</fieldset>",
        f'<p><label for="temoin-file">{e(ui["file"])}</label><br>'
        '<input type="file" id="temoin-file" aria-describedby="temoin-file-max"><br>'
        f'<span class="temoin-help" id="temoin-file-max">'
        f'{e(ui["file_max"].format(max=max_mb))}</span></p>',
        f'<p><button type="button" class="md-button md-button--primary" id="temoin-go">'
        f'{e(ui["encrypt"])}</button></p>',
        '<p class="temoin-status" id="temoin-status" role="status" aria-live="polite"></p>',
        # Text only: the armored message, small, to copy or paste into an email.
        '<div class="temoin-result" id="temoin-result" hidden>',
        f'<p><label for="temoin-output">{e(ui["output"])}</label><br>'
        '<textarea id="temoin-output" rows="10" readonly spellcheck="false"></textarea></p>',
        f'<p><button type="button" class="md-button" id="temoin-copy">{e(ui["copy"])}</button> '
        f'<a class="md-button" id="temoin-download" download="message.asc" href="#">'
        f'{e(ui["download"])}</a> '
        f'<a class="md-button" id="temoin-mailto" href="mailto:{e(address)}">'
        f'{e(ui["mailto"])}</a></p>',
        f'<p>{e(ui["after"].format(address=address))}</p>',
        "</div>",
        # With a file: one binary OpenPGP message, downloaded or shared, never shown as text.
        '<div class="temoin-result" id="temoin-result-file" hidden>',
        f'<p><a class="md-button md-button--primary" id="temoin-download-file" '
        f'download="message.gpg" href="#">{e(ui["download_file"])}</a> '
        f'<button type="button" class="md-button" id="temoin-share" hidden>{e(ui["share"])}'
        "</button> "
        f'<a class="md-button" id="temoin-mailto-file" href="mailto:{e(address)}">'
        f'{e(ui["mailto"])}</a></p>',
        f'<p>{e(ui["after_file"].format(address=address))}</p>',
        "</div>",
        # Apart from "Encrypt", and asked twice: erasing cannot be undone.
        '<div class="temoin-erase" role="group" aria-labelledby="temoin-erase-title">',
        f'<p class="temoin-erase-title" id="temoin-erase-title">{e(ui["erase_title"])}</p>',
        f'<p><button type="button" class="md-button" id="temoin-clear">{e(ui["erase"])}'
        "</button></p>",
        '<div class="temoin-erase-confirm" id="temoin-erase-confirm" hidden>',
        f'<p id="temoin-erase-ask">{e(ui["erase_ask"])}</p>',
        f'<p><button type="button" class="md-button temoin-danger" id="temoin-clear-yes" '
        f'aria-describedby="temoin-erase-ask">{e(ui["erase_yes"])}</button> '
        f'<button type="button" class="md-button" id="temoin-clear-no">{e(ui["erase_no"])}'
        "</button></p>",
        "</div>",
        "</div>",
        "</div>",
        f'<script type="module" src="{root}{ASSET_DIR}/submit.js" '
        f'integrity="{pins["script"]}"></script>',
    ]
    return "\n".join(lines)
