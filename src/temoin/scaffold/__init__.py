"""Setting an organisation up (issue 17): `temoin init DIR`, a new organisation repository
(DESIGN §2) that builds at once; its languages (`languages`), its settings changed by
command (`configure`) and the readiness check before launch (`doctor`)."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from temoin import settings
from temoin.config import is_email
from temoin.errors import RepoError
from temoin.scaffold import languages as lang_mod

DEFAULT_LANGUAGES = ("fr", "en")  # the scaffold's own: French pages at the root
SITE_SRC = "site_src/"
FOLDERS = ("cases", "keys/editors", "keys/partners", "inbox/quarantine", "inbox/processed",
           "site_src/bulletins", "scripts")


def _walk(node: Traversable, rel: str = "") -> list[tuple[str, Traversable]]:
    out = []
    for child in sorted(node.iterdir(), key=lambda n: n.name):
        path = f"{rel}{child.name}"
        if child.is_dir():
            out += _walk(child, path + "/")
        else:
            out.append((path, child))
    return out


def _fill(rel: str, node: Traversable, organisation: str, country: str, prefix: str) -> str:
    """A scaffold file's text with the organisation's name, country and case prefix."""
    text = node.read_text(encoding="utf-8")
    quoted = json.dumps(organisation, ensure_ascii=False)
    text = text.replace("{organisation}", quoted if rel == "mkdocs.yml" else organisation)
    return text.replace("{country}", country).replace("{prefix}", prefix)


def add_language_pages(docs_dir: Path, lang: str, langs: tuple[str, ...],
                       organisation: str) -> list[Path]:
    """Write the scaffold's hand-written pages of `lang` where `langs` puts them under
    `docs_dir`, keeping any page already there; return the files written."""
    written = []
    root = resources.files("temoin").joinpath("data", "scaffold")
    for rel, node in _walk(root):
        page = rel[len(SITE_SRC):]
        if not rel.startswith(SITE_SRC) or lang_mod.page_language(page) != lang:
            continue
        moved = lang_mod.page_target(page, langs)
        dest = docs_dir / str(moved)
        if moved is None or dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(_fill(rel, node, organisation, "", ""), encoding="utf-8")
        written.append(dest)
    return written


def init(target: Path, organisation: str, country: str = "BI", prefix: str | None = None,
         git: bool = True, contact: str = "",
         languages: tuple[str, ...] = DEFAULT_LANGUAGES) -> list[str]:
    """Create the repo at `target` (must be empty or absent); return the files written.
    `contact`: the address sources write to (empty: set it later); `languages`: the
    site's, its default first."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise RepoError(f"{target} is not empty: choose a new folder")
    if contact and not is_email(contact):
        raise RepoError(f"contact address: expected an e-mail address (name@example.org), "
                        f"got {contact!r}")
    langs = lang_mod.parse(languages)
    country = country.upper()
    prefix = (prefix or country).upper()
    if not re.fullmatch(r"[A-Z]{2,6}", prefix):
        raise RepoError(f"case prefix: expected 2-6 capital letters, got {prefix!r}")
    if not organisation.strip() or any(ord(ch) < 32 for ch in organisation):
        raise RepoError("organisation: expected a name on one line")
    written = []
    root = resources.files("temoin").joinpath("data", "scaffold")
    for rel, node in _walk(root):
        text = _fill(rel, node, organisation, country, prefix)
        if rel.startswith(SITE_SRC):
            moved = lang_mod.page_target(rel[len(SITE_SRC):], langs)
            if moved is None:
                continue
            rel = SITE_SRC + moved
        dest = target / (".gitignore" if rel == "gitignore" else rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        written.append(str(dest.relative_to(target)))
    for folder in FOLDERS:
        (target / folder).mkdir(parents=True, exist_ok=True)
    (target / "custody.jsonl").touch()

    def configure(doc: object) -> None:
        if langs != DEFAULT_LANGUAGES:
            lang_mod.apply(doc, langs)
        if contact:
            settings.plugin_block(doc, target / "mkdocs.yml")["contact_email"] = contact

    if contact or langs != DEFAULT_LANGUAGES:
        settings.edit(target, configure)
    if git and not (target / ".git").exists():
        subprocess.run(["git", "init", "-q", str(target)], check=False, capture_output=True)
    return written
