"""The submit page: our public key, how to write to us safely, and encryption in the browser.

`pages()` returns the French page `temoigner/index.md` (URL /temoigner/) and the English one
`en/submit/index.md` (URL /en/submit/), for each language in `cfg.languages`, plus assets:

- `keys/inbox.asc`, the public inbox key the pages link to (and show in a `<pre>`);
- `assets/temoin/submit.js`, `submit.css` and `vendor/openpgp.min.mjs` (pinned OpenPGP.js,
  see `assets/vendor/README.md`), and `template-fr.txt` / `template-en.txt`.

The page needs nothing but `Content-Security-Policy: default-src 'self'`: no inline script,
no inline style, no event-handler attribute; `submit.js` is an ES module loaded with a
relative `src` and imports OpenPGP.js only when the source presses "Encrypt". The key it
encrypts to is the one shown on the page (`#temoin-key pre code`), and it refuses to encrypt if
that key's fingerprint differs from the page's `data-fingerprint`. The download of the
encrypted text is a `blob:` URL in an `<a download>` link, which no fetch directive of CSP
governs. Without JavaScript the page still shows the key, fingerprint, QR code, instructions
and template; the form stays hidden.

The QR code encodes `OPENPGP4FPR:<40 or 64 hex, upper case>`, the URI form OpenKeychain and
other OpenPGP apps read to confirm a key by fingerprint.
"""

from __future__ import annotations

import html
import re
import string
import tempfile
import time
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import segno

from temoin import keys
from temoin.config import Config
from temoin.errors import ConfigError, CryptoError
from temoin.intake import form as template
from temoin.site import Asset, Page

PATHS = {"fr": "temoigner/index.md", "en": "en/submit/index.md"}
TITLES = {"fr": "Témoigner en sécurité", "en": "Send a testimony safely"}
KEY_PATH = "keys/inbox.asc"
FPR_PATH = "keys/inbox-fingerprint.txt"
ASSET_DIR = "assets/temoin"
_FPR = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")
# Conservative on purpose: the address goes into a mailto: URL and HTML attributes as is.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")
# What the encrypted result may weigh: the intake refuses ciphertext over
# cfg.max_submission_bytes, and base64 in MIME then ASCII armor grow a file about 1.85 times.
_GROWTH = 1.9
_COLON = {"fr": "\u00a0:", "en": ":"}  # French puts a (no-break) space before a colon

UI = {
    "fr": {
        "address": "Écrivez à", "fingerprint": "Empreinte de la clé",
        "qr": "QR code de l'empreinte (OPENPGP4FPR)",
        "download_key": "Télécharger la clé publique (inbox.asc)",
        "show_key": "La clé publique (texte)", "verify": "Vérifiez cette empreinte dans votre "
        "logiciel avant d'envoyer quoi que ce soit.",
        "nojs": "Ce formulaire a besoin de JavaScript, qui est désactivé ici (c'est le cas au "
                "niveau « Le plus sûr » de Tor Browser). Suivez plutôt la section 3 avec votre "
                "logiciel habituel.",
        "local": "Rien ne quitte cet appareil : le chiffrement se fait ici, avec la clé ci-dessus.",
        "consent": "Acceptez-vous que nous publiions ce témoignage ?",
        "file": "Un fichier (facultatif ; retirez d'abord ses métadonnées)",
        "encrypt": "Chiffrer", "clear": "Tout effacer", "output": "Votre message chiffré",
        "copy": "Copier", "download": "Télécharger (.asc)",
        "mailto": "Ouvrir ma messagerie",
        "after": "Envoyez ce texte chiffré à l'adresse ci-dessus (collez-le, ou joignez le "
                 "fichier .asc), avec un objet banal. Puis cliquez sur « Tout effacer ».",
        "footer": "Clé de réception des témoignages",
    },
    "en": {
        "address": "Write to", "fingerprint": "Key fingerprint",
        "qr": "QR code of the fingerprint (OPENPGP4FPR)",
        "download_key": "Download the public key (inbox.asc)",
        "show_key": "The public key (text)", "verify": "Check this fingerprint in your "
        "software before you send anything.",
        "nojs": "This form needs JavaScript, which is turned off here (as at Tor Browser's "
                "“Safest” level). Follow section 3 with your usual software instead.",
        "local": "Nothing leaves this device: encryption happens here, with the key above.",
        "consent": "Do you agree that we publish this testimony?",
        "file": "A file (optional; remove its metadata first)",
        "encrypt": "Encrypt", "clear": "Clear everything", "output": "Your encrypted message",
        "copy": "Copy", "download": "Download (.asc)", "mailto": "Open my email app",
        "after": "Send this encrypted text to the address above (paste it, or attach the "
                 ".asc file), with an ordinary subject. Then press “Clear everything”.",
        "footer": "Testimony inbox key",
    },
}


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
    out_pages = []
    for lang in ("fr", "en"):
        if lang in cfg.languages:
            out_pages.append(Page(PATHS[lang], _page(lang, cfg, armored, fpr, address, qr),
                                  TITLES[lang]))
    assets = [Asset(KEY_PATH, armored.encode("utf-8")),
              # In SHA256SUMS, which that key signs: readers and mirrors compare the key they
              # use with the one the signed manifest vouches for.
              Asset(FPR_PATH, f"{fpr}\n{group_fingerprint(fpr)}\nOPENPGP4FPR:{fpr}\n"
                    .encode("ascii"))]
    for name, res in (("submit.js", "submit.js"), ("submit.css", "submit.css"),
                      ("vendor/openpgp.min.mjs", "vendor/openpgp.min.mjs"),
                      ("vendor/LICENSE.openpgp", "vendor/LICENSE.openpgp")):
        assets.append(Asset(f"{ASSET_DIR}/{name}", _resource(res).read_bytes()))
    for lang in template.LANGS:
        assets.append(Asset(f"{ASSET_DIR}/template-{lang}.txt",
                            template.text(lang).encode("utf-8")))
    return out_pages, sorted(assets, key=lambda a: a.path)


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
    if not _EMAIL.match(email):
        raise ConfigError(f"mkdocs.yml: plugins.temoin.contact_email: expected the address "
                          f"sources write to (name@domain), got {email!r}; the submit page "
                          "cannot be built without it")
    return email


def _check_key(armored: str, fpr: str) -> str:
    """The armored public key, checked in a throwaway keyring: only `fpr`, public, unexpired."""
    text = str(armored or "").replace("\r\n", "\n").strip() + "\n"
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


def _rel(path: str) -> str:
    """Prefix from a page at `path` (a folder's index.md) back to the site root."""
    return "../" * path.count("/")


def _page(lang: str, cfg: Config, armored: str, fpr: str, address: str, qr: str) -> str:
    ui = UI[lang]
    root = _rel(PATHS[lang])
    e = html.escape
    colon = _COLON[lang]
    key_block = "\n".join([
        '<div class="temoin-key-block" id="temoin-key-block">',
        f'<link rel="stylesheet" href="{root}{ASSET_DIR}/submit.css">',
        f'<p class="temoin-address">{e(ui["address"])}{colon} '
        f'<a href="mailto:{e(address)}"><strong>{e(address)}</strong></a></p>',
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
        "</div>",
    ])
    values = {
        "organisation": _md(cfg.organisation),
        "address_md": f"`{address}`",
        "fpr": fpr,
        "key_block": key_block,
        "form": _form(lang, fpr, address, cfg.max_submission_bytes, root),
        "key_href": f"{root}{KEY_PATH}",
        "template_fr": _template_block("fr"),
        "template_en": _template_block("en"),
        "template_href_fr": f"{root}{ASSET_DIR}/template-fr.txt",
        "template_href_en": f"{root}{ASSET_DIR}/template-en.txt",
    }
    body = _resource(f"submit.{lang}.md").read_text(encoding="utf-8")
    return string.Template(body).substitute(values)


def _template_block(lang: str) -> str:
    return (f'<pre class="temoin-template" id="temoin-template-{lang}"><code>'
            f"{html.escape(template.text(lang).rstrip())}</code></pre>")


def _form(lang: str, fpr: str, address: str, max_bytes: int, root: str) -> str:
    """The encryption form: hidden until submit.js shows it; no <form>, nothing to submit.

    No `name` on text fields and no <form> element, so nothing can ever be submitted to a
    server, even by accident; spellcheck off so no browser sends the text to a spelling
    service; autocomplete off so the browser keeps no copy of what was typed.
    """
    ui = UI[lang]
    e = html.escape
    attrs = 'autocomplete="off" spellcheck="false" autocapitalize="sentences"'
    lines = [
        f'<p class="temoin-nojs" id="temoin-nojs">{e(ui["nojs"])}</p>',
        f'<div class="temoin-encrypt" id="temoin-encrypt" hidden data-lang="{lang}" '
        f'data-fingerprint="{fpr}" data-address="{e(address)}" '
        f'data-max-file="{int(max_bytes / _GROWTH)}" '
        f'data-begin="{e(template.BEGIN[lang])}" data-intro="{e(template.INTRO[lang])}" '
        f'data-end="{e(template.END[lang])}">',
        f'<p class="temoin-local">{e(ui["local"])}</p>',
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
                 f'data-label="{e(template.CONSENT_LABEL[lang])}">'
                 f'<legend>{e(ui["consent"])}</legend>')
    for code, option in template.CONSENT_OPTIONS[lang]:
        lines.append(f'<label><input type="radio" name="temoin-consent" value="{code}" '
                     f'data-option="{e(option)}"> {e(option)}</label><br>')
    lines += [
        "</fieldset>",
        f'<p><label for="temoin-file">{e(ui["file"])}</label><br>'
        '<input type="file" id="temoin-file"></p>',
        f'<p><button type="button" class="md-button md-button--primary" id="temoin-go">'
        f'{e(ui["encrypt"])}</button> <button type="button" class="md-button" '
        f'id="temoin-clear">{e(ui["clear"])}</button></p>',
        '<p class="temoin-status" id="temoin-status" role="status" aria-live="polite"></p>',
        '<div class="temoin-result" id="temoin-result" hidden>',
        f'<p><label for="temoin-output">{e(ui["output"])}</label><br>'
        '<textarea id="temoin-output" rows="10" readonly spellcheck="false"></textarea></p>',
        f'<p><button type="button" class="md-button" id="temoin-copy">{e(ui["copy"])}</button> '
        f'<a class="md-button" id="temoin-download" download="message.asc" href="#">'
        f'{e(ui["download"])}</a> '
        f'<a class="md-button" id="temoin-mailto" href="mailto:{e(address)}">'
        f'{e(ui["mailto"])}</a></p>',
        f'<p>{e(ui["after"])}</p>',
        "</div>",
        "</div>",
        f'<script type="module" src="{root}{ASSET_DIR}/submit.js"></script>',
    ]
    return "\n".join(lines)
