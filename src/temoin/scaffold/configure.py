"""`temoin config set/show`: the settings changed by command instead of by hand (issue 17).

Each setting has a kind (how its value is read from the command line) and a place: the
`temoin` plugin's options or mkdocs.yml itself (`site_name`, `site_url`…). The safety
settings (`TRUSTED`: organisation, contact address, publication level, place precision, the
consents that allow a page) belong to the signed trust root too: once there is one,
mkdocs.yml only proposes them, and a change counts when two editors sign the new statement
(`proposal` says what it would state; the CLI proposes it signed by the acting editor).
Keys are not settings: `temoin keys generate/import` change them. Every other setting is
words or choices on the site (its name, its address, the bulletins' period…): the trust root
records mkdocs.yml's settings with the site's own files (`trust.site_files`), so once there
is a root any change is proposed too, and the site builds once a second editor signs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temoin import config as config_mod
from temoin import settings
from temoin.config import LEVELS, LICENCES, PAGE_CONSENTS, PERIODS, PRECISIONS, Config
from temoin.errors import ConfigError
from temoin.scaffold import add_language_pages
from temoin.scaffold import languages as lang_mod

# What the trust root states besides keys (its payload's keys, `trust.payload_from`).
TRUSTED = ("organisation", "contact_email", "publish_min_level", "location_precision",
           "page_consents")
KEYS_ONLY = {"inbox_key": "temoin keys generate (or keys import FILE --as inbox)",
             "site_key": "temoin keys import FILE --as inbox",
             "recipients": "temoin keys import FILE --as editor",
             "partners": "temoin keys import FILE --as partner --category …"}


@dataclass(frozen=True)
class Setting:
    """One setting `temoin config set` changes: how to read it, where it lives."""

    key: str
    kind: str             # text, email, url, choice, choices, int, bool, languages
    help: str
    choices: tuple[str, ...] = ()
    mkdocs: bool = False  # a key of mkdocs.yml itself, not of the temoin plugin

    @property
    def trusted(self) -> bool:
        return self.key in TRUSTED


SETTINGS: dict[str, Setting] = {s.key: s for s in (
    Setting("organisation", "text", "the organisation's name (signed trust root)"),
    Setting("contact_email", "email", "the address sources write to (signed trust root)"),
    Setting("publish_min_level", "choice", "the least verification a published case has "
            "(signed trust root)", LEVELS),
    Setting("location_precision", "choice", "the finest public place (signed trust root)",
            PRECISIONS),
    Setting("page_consents", "choices", "the consents that give a case its own page "
            "(signed trust root)", PAGE_CONSENTS),
    Setting("languages", "languages", "the site's languages, its default first",
            lang_mod.LANGUAGES),
    Setting("country", "choice", "the gazetteer of the cases' places", ("BI", "CM")),
    Setting("case_prefix", "text", "the prefix of new case ids (2-6 capital letters)"),
    Setting("bulletin_period", "choice", "how often a bulletin is numbered", PERIODS),
    Setting("bulletin_first_number", "int", "the number of the first bulletin"),
    Setting("data_licence", "choice", "the open data's licence", tuple(LICENCES)),
    Setting("follow_up_days", "int", "days before an intervention needs chasing"),
    Setting("max_submission_bytes", "int", "the largest encrypted submission accepted"),
    Setting("max_plaintext_bytes", "int", "the largest decrypted submission accepted"),
    Setting("site_name", "text", "the site's title", mkdocs=True),
    Setting("site_url", "url", "the site's public address (https://…/)", mkdocs=True),
    Setting("site_description", "text", "the site's description", mkdocs=True),
)}


@dataclass(frozen=True)
class Change:
    key: str
    old: Any
    new: Any


def setting(key: str) -> Setting:
    """The setting `key`, or ConfigError naming the command for keys and the known names."""
    if key in KEYS_ONLY:
        raise ConfigError(f"{key} is a key, not a setting: `{KEYS_ONLY[key]}`")
    if key not in SETTINGS:
        raise ConfigError(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}")
    return SETTINGS[key]


def parse(spec: Setting, values: list[str]) -> Any:
    """The value of `spec` from the words given on the command line."""
    text = " ".join(v.strip() for v in values).strip()
    if spec.kind == "languages":
        return lang_mod.parse(text)
    if spec.kind == "choices":
        chosen = tuple(x for x in text.replace(" ", ",").split(",") if x)
        if not chosen or not set(chosen) <= set(spec.choices):
            raise ConfigError(f"{spec.key}: expected a comma-separated list of "
                              f"{', '.join(spec.choices)}, got {text!r}")
        return chosen
    if spec.kind == "choice":
        value = text.upper() if spec.key == "country" else text
        if value not in spec.choices:
            raise ConfigError(f"{spec.key}: expected one of {', '.join(spec.choices)}, got "
                              f"{text!r}")
        return value
    if spec.kind == "int":
        if not text.isdigit() or int(text) <= 0:
            raise ConfigError(f"{spec.key}: expected a positive whole number, got {text!r}")
        return int(text)
    if spec.kind == "email" and not config_mod.is_email(text):
        raise ConfigError(f"{spec.key}: expected an e-mail address (name@example.org), got "
                          f"{text!r}")
    if spec.kind == "url" and text and not (text.startswith("https://") and "." in text):
        raise ConfigError(f"{spec.key}: expected an https:// address, got {text!r}")
    if spec.kind == "text" and (not text or any(ord(c) < 32 for c in text)):
        raise ConfigError(f"{spec.key}: expected a value on one line, got {text!r}")
    return text


def proposed(repo: Path) -> Config:
    """The settings as mkdocs.yml writes them (what an editor proposes), not the root's."""
    return config_mod.from_options(repo, config_mod.plugin_options(
        config_mod.read_mkdocs_yml(repo / config_mod.CONFIG_FILE)),
        config_mod.read_mkdocs_yml(repo / config_mod.CONFIG_FILE), root=False)


def current(cfg: Config, key: str) -> Any:
    """The value of setting `key` in `cfg` (lists as lists)."""
    if key == "site_description":  # not one of Témoin's: read where MkDocs reads it
        data = config_mod.read_mkdocs_yml(cfg.repo / config_mod.CONFIG_FILE)
        return str(data.get("site_description") or "")
    value = getattr(cfg, key, None)
    return list(value) if isinstance(value, tuple) else value


def set_value(repo: Path, key: str, values: list[str]) -> Change:
    """Write the setting `key` into mkdocs.yml (and, for languages, the pages); the value
    is validated with every other setting before anything is kept."""
    spec = setting(key)
    value = parse(spec, values)
    before = proposed(repo)
    old = current(before, key)
    if spec.kind == "languages":
        _set_languages(repo, before, value)
    elif spec.mkdocs:
        settings.edit(repo, lambda doc: doc.__setitem__(key, value))
    else:
        stored = list(value) if isinstance(value, tuple) else value
        settings.update(repo, lambda o: o.__setitem__(key, stored))
    new = list(value) if isinstance(value, tuple) else value
    return Change(key, old, new)


def _set_languages(repo: Path, before: Config, langs: tuple[str, ...]) -> None:
    """Add or remove a language other than the default one: its pages are written from the
    scaffold (a removed one's folder must be gone first), mkdocs.yml follows."""
    old = before.languages
    if langs[0] != old[0]:
        raise ConfigError(f"languages: the default language ({old[0]}, first) is chosen at "
                          "`temoin init`; keep it first, e.g. "
                          + ",".join([old[0], *(x for x in langs if x != old[0])]))
    docs = repo / str(config_mod.read_mkdocs_yml(repo / config_mod.CONFIG_FILE).get(
        "docs_dir") or "docs")
    for lang in old:
        folder = docs / lang_mod.prefix(lang, old)
        if lang not in langs and folder.is_dir() and any(folder.iterdir()):
            raise ConfigError(f"languages: {folder.relative_to(repo)}/ still holds the "
                              f"{lang_mod.NAMES[lang]} pages; remove it first (`git rm -r "
                              f"{folder.relative_to(repo)}`), then set the languages again")
    for lang in langs:
        if lang not in old:
            add_language_pages(docs, lang, langs, before.organisation)
    settings.edit(repo, lambda doc: lang_mod.apply(doc, langs))


def shown(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value) if value not in (None, "") else '""'


# The trust statement's parts, as a person names them.
PART_NAMES = {"consent": "page_consents", "editors": "editors (keys/editors/)",
              "partners": "partners (keys/partners/)", "inbox_key": "inbox_key (keys/inbox.asc)",
              "site_files": "the site's own files (site_src/, mkdocs.yml)"}


def pending(repo: Path) -> list[str]:
    """The parts of the signed trust root that mkdocs.yml, keys/ and the site's own files
    would change (empty without a trust root, or when they state what it states)."""
    from temoin import trust

    latest = trust.latest_payload(repo)
    if latest is None:
        return []
    mine = trust.payload_from(proposed(repo))
    mine[trust.SITE_FILES] = trust.site_files(repo)
    return [PART_NAMES.get(k, k) for k in sorted(set(mine) | set(latest))
            if mine.get(k) != latest.get(k)]
