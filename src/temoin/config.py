"""Témoin's settings: the `temoin` plugin block of mkdocs.yml, validated once, frozen.

Machine-local settings (GNUPGHOME, TEMOIN_PASSPHRASE_FILE, TEMOIN_EDITOR) come from the
environment and are read where they are used, never stored in the repo.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from temoin import strict_yaml
from temoin.errors import ConfigError, RepoError

CONFIG_FILE = "mkdocs.yml"
PERIODS = ("week", "month", "quarter")
LEVELS = ("received", "recorded", "credible", "verified", "confirmed")
PRECISIONS = ("country", "admin1", "admin2")
PARTNER_CATEGORIES = ("un_mechanism", "court", "embassy", "lawyer", "ngo", "media")
_FPR = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")
# An address a source can type in a mail client's To: field: one @, an ASCII local part of
# the usual characters (no spaces, quotes, brackets or commas), a domain with a dot.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")


def is_email(value: str) -> bool:
    """Whether `value` is an e-mail address sources can write to (see EMAIL)."""
    return len(value) <= 254 and bool(EMAIL.fullmatch(value)) and ".." not in value \
        and not value.startswith(".") and ".@" not in value


@dataclass(frozen=True)
class Editor:
    fingerprint: str
    name: str
    person: str = ""  # who holds the key: four eyes count persons, not keys (trust root)


@dataclass(frozen=True)
class Partner:
    name: str
    fingerprint: str
    category: str


# Licences the open data may carry: SPDX id -> name, canonical address.
LICENCES = {
    "CC-BY-4.0": ("Creative Commons Attribution 4.0 International",
                  "https://creativecommons.org/licenses/by/4.0/"),
    "CC-BY-SA-4.0": ("Creative Commons Attribution-ShareAlike 4.0 International",
                     "https://creativecommons.org/licenses/by-sa/4.0/"),
    "CC0-1.0": ("Creative Commons Zero 1.0 Universal",
                "https://creativecommons.org/publicdomain/zero/1.0/"),
    "ODbL-1.0": ("Open Data Commons Open Database License 1.0",
                 "https://opendatacommons.org/licenses/odbl/1-0/"),
}


@dataclass(frozen=True)
class Config:
    """Validated Témoin settings for one organisation repository."""

    repo: Path
    organisation: str = "Organisation"
    country: str = "BI"
    case_prefix: str = "BI"
    inbox_key: str = ""
    site_key: str = ""  # signs the site's manifest; default: the inbox key
    recipients: tuple[Editor, ...] = ()
    partners: tuple[Partner, ...] = ()
    bulletin_period: str = "week"
    bulletin_first_number: int = 1
    publish_min_level: str = "verified"
    location_precision: str = "admin2"
    languages: tuple[str, ...] = ("fr", "en")
    contact_email: str = ""
    data_licence: str = "CC-BY-4.0"  # SPDX id of the open data's licence (LICENCES)
    follow_up_days: int = 14
    max_submission_bytes: int = 32 * 1024 * 1024  # a 16 MiB photo or video, encrypted, mailed
    max_plaintext_bytes: int = 64 * 1024 * 1024
    site_url: str = ""
    site_name: str = ""
    page_consents: tuple[str, ...] = ("anonymised", "named")  # the trust root's, once signed
    fictional: bool = False  # mkdocs.yml `extra.fictional`: the demo's "fictional data" mark
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def recipient_fingerprints(self) -> tuple[str, ...]:
        return tuple(e.fingerprint for e in self.recipients)

    def person(self, fingerprint: str) -> str:
        """Who holds the editor key `fingerprint` (the roster maps keys to persons)."""
        for e in self.recipients:
            if e.fingerprint == fingerprint:
                return e.person or e.name
        return fingerprint

    @property
    def signing_key(self) -> str:
        """The key that signs the site's manifest."""
        return self.site_key or self.inbox_key

    def editor_name(self, fingerprint: str) -> str:
        for e in self.recipients:
            if e.fingerprint == fingerprint:
                return e.name
        return fingerprint[-16:]

    def partner(self, name_or_fpr: str) -> Partner:
        for p in self.partners:
            if name_or_fpr in (p.name, p.fingerprint):
                return p
        known = ", ".join(p.name for p in self.partners) or "none"
        raise ConfigError(f"unknown partner {name_or_fpr!r} (configured: {known}); "
                          "add one with `temoin keys import FILE --as partner`")

    @property
    def default_language(self) -> str:
        return self.languages[0]


# Config fields read from mkdocs.yml itself, not from the `temoin` plugin's options: the
# pages' banner and the PDFs' mark of fictional data share `extra.fictional`.
MKDOCS_SETTINGS = ("repo", "extra", "site_url", "site_name", "fictional")
# ... and those that are no plugin option at all.
NOT_OPTIONS = MKDOCS_SETTINGS


# libyaml's parser when present (as for case front matter): mkdocs.yml is read on every
# command, several times, and parses ~5x faster; the constructors, so the safety, are the same.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML with no application tags at all: a `!!python/…` tag, `!ENV` or any other
    `!tag` is an error naming it (issue 16: nothing in the repository runs code)."""


def _refuse_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"tag {node.tag!r} refused (mkdocs.yml may hold plain values only: "
        "no Python tags, no !ENV)", node.start_mark)


_StrictLoader.add_multi_constructor("!", _refuse_tag)
_StrictLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_tag)


def read_mkdocs_yml(path: Path) -> dict[str, Any]:
    """Parse mkdocs.yml safely: a safe loader, and any tag (`!!python/…`, `!ENV`, …) is
    refused with its name (no Python object is ever constructed, no variable read); a key
    given twice or a merge key too (`strict_yaml.unique_keys`): the co-signers of the trust
    root, reading the file, would see a setting the build never uses."""
    try:
        text = path.read_text(encoding="utf-8")
        found = strict_yaml.problems(text)  # no anchors or aliases either (alias bombs)
        if found:
            raise ConfigError(f"{path}: " + "; ".join(found))
        data = yaml.load(text, Loader=strict_yaml.unique_keys(_StrictLoader))  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
    return data


# What MkDocs may be handed (issue 16). `hooks:` load Python files from the repository and
# `INHERIT:` another YAML file; plugins and Markdown extensions are Python code chosen by
# name, so only these run.
ALLOWED_PLUGINS = frozenset({"search", "temoin", "tags"})
ALLOWED_EXTENSIONS = frozenset({
    "abbr", "admonition", "attr_list", "def_list", "footnotes", "md_in_html", "tables", "toc",
    "sane_lists", "smarty", "meta", "pymdownx.details", "pymdownx.superfences",
    "pymdownx.tabbed", "pymdownx.tilde", "pymdownx.caret", "pymdownx.mark"})
# `extra_templates` renders files of docs_dir with Jinja, like the theme's templates.
REFUSED_KEYS = ("hooks", "INHERIT", "extra_templates")
# Jinja templates are code: MkDocs' Jinja environment is not sandboxed (`lipsum.__globals__`
# reaches `os`; the plugin swaps in `site.sandbox`, a second wall), and a page's
# `template:` front matter may name any file of the theme's folders. So the only templates
# that render are Témoin's own (`own_templates`): every file of `theme.custom_dir` must be
# one of them byte for byte, and MkDocs is handed the package's copy
# (`engine.mkdocs_config`), never the repository's.
OWN_TEMPLATES = ("data", "scaffold", "site_src", "overrides")


def own_templates() -> Path:
    """The folder of Témoin's own theme overrides, inside the installed package."""
    return Path(__file__).resolve().parent.joinpath(*OWN_TEMPLATES)


def _custom_dir_problems(repo: Path, theme: Any) -> list[str]:
    """Files of `theme.custom_dir` that are not Témoin's own templates byte for byte."""
    if not isinstance(theme, dict) or theme.get("custom_dir") in (None, ""):
        return []
    # A folder outside the repository is refused by `publish.inputs`; a missing one is never
    # read either: MkDocs renders the package's copy whatever the setting says.
    folder = Path(str(theme.get("custom_dir")))
    here, own = repo / folder, own_templates()
    if folder.is_absolute() or ".." in folder.parts or not here.is_dir():
        return []
    problems = []
    # Links and special files: `publish.inputs` names them (and MkDocs never reads them).
    for f in sorted(p for p in here.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = f.relative_to(here)
        mine = own / rel
        try:
            same = mine.is_file() and f.read_bytes() == mine.read_bytes()
        except OSError:
            same = False
        if not same:
            problems.append(
                f"mkdocs.yml: theme.custom_dir: {(folder / rel).as_posix()}: not one of "
                "Témoin's own templates byte for byte (templates are Jinja code: only Témoin's "
                "render, and in a sandbox; co-signing cannot admit another). Restore it from "
                f"{(own / rel).as_posix() if mine.is_file() else own.as_posix()} or delete it")
    return problems


def _names(entries: Any, where: str, problems: list[str]) -> list[str]:
    """Names of a plugins/markdown_extensions list or mapping."""
    if entries is None:
        return []
    if isinstance(entries, dict):
        return [str(k) for k in entries]
    if not isinstance(entries, list):
        problems.append(f"mkdocs.yml: {where}: expected a list, got {type(entries).__name__}")
        return []
    out = []
    for e in entries:
        if isinstance(e, str):
            out.append(e)
        elif isinstance(e, dict) and len(e) == 1:
            out.append(str(next(iter(e))))
        else:
            problems.append(f"mkdocs.yml: {where}: expected a name or {{name: options}}, "
                            f"got {e!r}")
    return out


def safe_mkdocs(path: Path) -> dict[str, Any]:
    """mkdocs.yml read with the strict loader and checked before MkDocs sees it: no
    `hooks:`, `INHERIT:` or `extra_templates`, only allow-listed plugins and Markdown
    extensions, docs_dir inside the repository, no template but Témoin's own. Raises
    ConfigError naming every refused key."""
    data = read_mkdocs_yml(path)
    problems = [f"mkdocs.yml: {key}: refused (it makes MkDocs load code or another file "
                "from the repository)" for key in REFUSED_KEYS if key in data]
    for name in _names(data.get("plugins"), "plugins", problems):
        if name not in ALLOWED_PLUGINS:
            problems.append(f"mkdocs.yml: plugins: {name}: not in the allow-list "
                            f"({', '.join(sorted(ALLOWED_PLUGINS))})")
    for name in _names(data.get("markdown_extensions"), "markdown_extensions", problems):
        short = name.removeprefix("markdown.extensions.")
        if short not in ALLOWED_EXTENSIONS:
            problems.append(f"mkdocs.yml: markdown_extensions: {name}: not in the allow-list "
                            f"({', '.join(sorted(ALLOWED_EXTENSIONS))})")
    problems += _custom_dir_problems(path.parent, data.get("theme"))
    docs = str(data.get("docs_dir") or "docs")
    if Path(docs).is_absolute() or ".." in Path(docs).parts:
        problems.append(f"mkdocs.yml: docs_dir: {docs!r}: expected a folder inside the "
                        "repository")
    if problems:
        raise ConfigError("refused configuration:\n" + "\n".join(problems))
    return data


def find_repo(start: Path | None = None) -> Path:
    """The nearest folder upward from `start` (default: cwd) that holds mkdocs.yml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise RepoError(f"no {CONFIG_FILE} in {here} or above: run `temoin init DIR` or pass --repo")


def plugin_options(mkdocs: dict[str, Any]) -> dict[str, Any]:
    """The `temoin` entry of `plugins:` (list or mapping form), or {}."""
    plugins = mkdocs.get("plugins") or []
    if isinstance(plugins, dict):
        return dict(plugins.get("temoin") or {})
    for entry in plugins:
        if isinstance(entry, dict) and "temoin" in entry:
            return dict(entry["temoin"] or {})
    return {}


def load(repo: Path) -> Config:
    """Read and validate the Témoin settings of the repo at `repo`."""
    repo = Path(repo).resolve()
    mk = safe_mkdocs(repo / CONFIG_FILE)  # what the build refuses, every command refuses
    return from_options(repo, plugin_options(mk), mk)


def _expect(cond: bool, key: str, expected: str, got: Any, problems: list[str]) -> None:
    if not cond:
        problems.append(f"mkdocs.yml: plugins.temoin.{key}: expected {expected}, got {got!r}")


def _fingerprint(value: Any) -> str:
    return str(value or "").replace(" ", "").upper()


def from_options(repo: Path, opts: dict[str, Any], mkdocs: dict[str, Any] | None = None,
                 root: bool = True) -> Config:
    """Validate the plugin options into a Config; every problem is reported at once.

    With a trust root in the repo (`trust/`, issue 16) and `root` true, the keys and safety
    settings come from its latest statement, not from mkdocs.yml; `trust.require` verifies
    that statement before anything that matters runs."""
    mkdocs = mkdocs or {}
    problems: list[str] = []
    known = {f for f in Config.__dataclass_fields__ if f not in NOT_OPTIONS}
    for key in opts:
        _expect(key in known, key, "a known setting (" + ", ".join(sorted(known)) + ")",
                key, problems)
    d = Config.__dataclass_fields__

    def get(key: str) -> Any:
        return opts.get(key, d[key].default)

    org = get("organisation")
    _expect(isinstance(org, str) and org.strip() != "", "organisation", "a name", org, problems)
    country = str(get("country")).upper()
    _expect(country in ("BI", "CM"), "country", "one of BI, CM", country, problems)
    prefix = str(get("case_prefix"))
    _expect(bool(re.fullmatch(r"[A-Z]{2,6}", prefix)), "case_prefix", "2-6 capital letters",
            prefix, problems)
    inbox = _fingerprint(get("inbox_key"))
    _expect(inbox == "" or bool(_FPR.match(inbox)), "inbox_key", "a 40-hex fingerprint", inbox,
            problems)
    site_key = _fingerprint(get("site_key"))
    _expect(site_key == "" or bool(_FPR.match(site_key)), "site_key", "a 40-hex fingerprint",
            site_key, problems)
    editors: list[Editor] = []
    for i, r in enumerate(opts.get("recipients") or []):
        fpr, name = (_fingerprint(r.get("fingerprint")), str(r.get("name", ""))) \
            if isinstance(r, dict) else (_fingerprint(r), "")
        person = str(r.get("person") or "") if isinstance(r, dict) else ""
        _expect(bool(_FPR.match(fpr)), f"recipients[{i}]", "a fingerprint or "
                "{fingerprint, name, person}", r, problems)
        editors.append(Editor(fpr, name or fpr[-16:], person or name or fpr[-16:]))
    partners: list[Partner] = []
    for i, p in enumerate(opts.get("partners") or []):
        ok = isinstance(p, dict) and bool(_FPR.match(_fingerprint(p.get("fingerprint")))) \
            and p.get("category") in PARTNER_CATEGORIES and bool(p.get("name"))
        _expect(ok, f"partners[{i}]", "{name, fingerprint, category in "
                + "|".join(PARTNER_CATEGORIES) + "}", p, problems)
        if ok:
            partners.append(Partner(str(p["name"]), _fingerprint(p["fingerprint"]),
                                    str(p["category"])))
    period = get("bulletin_period")
    _expect(period in PERIODS, "bulletin_period", " | ".join(PERIODS), period, problems)
    level = get("publish_min_level")
    _expect(level in LEVELS, "publish_min_level", " | ".join(LEVELS), level, problems)
    precision = get("location_precision")
    _expect(precision in PRECISIONS, "location_precision", " | ".join(PRECISIONS), precision,
            problems)
    langs = tuple(get("languages"))
    _expect(bool(langs) and set(langs) <= {"fr", "en"}, "languages", "a list of fr, en",
            list(langs), problems)
    contact = str(get("contact_email") or "")
    _expect(contact == "" or is_email(contact), "contact_email",
            "an e-mail address (name@example.org)", contact, problems)
    consents = get("page_consents")
    _expect(isinstance(consents, list | tuple) and bool(consents)
            and set(consents) <= set(PAGE_CONSENTS), "page_consents",
            "a list of " + ", ".join(PAGE_CONSENTS), consents, problems)
    licence = get("data_licence")
    _expect(licence in LICENCES, "data_licence", " | ".join(LICENCES), licence, problems)
    ints = {}
    for key in ("bulletin_first_number", "follow_up_days", "max_submission_bytes",
                "max_plaintext_bytes"):
        v = get(key)
        _expect(isinstance(v, int) and not isinstance(v, bool) and v > 0, key,
                "a positive whole number", v, problems)
        ints[key] = v
    if problems:
        raise ConfigError("invalid settings:\n" + "\n".join(problems))
    cfg = Config(
        repo=Path(repo), organisation=org, country=country, case_prefix=prefix,
        inbox_key=inbox, site_key=site_key, recipients=tuple(editors), partners=tuple(partners),
        bulletin_period=period, publish_min_level=level, location_precision=precision,
        languages=langs, contact_email=contact, data_licence=licence,
        page_consents=tuple(str(c) for c in consents),
        site_url=str(mkdocs.get("site_url") or ""), site_name=str(mkdocs.get("site_name") or ""),
        fictional=bool((mkdocs.get("extra") or {}).get("fictional")),
        **ints,
    )
    return with_root(cfg) if root else cfg


def with_root(cfg: Config) -> Config:
    """`cfg` with the keys and safety settings of the repo's latest trust-root statement
    (unchanged when there is none). Values the root cannot hold are refused."""
    from dataclasses import replace

    p = latest_trust_payload(cfg.repo)
    if p is None:
        return cfg
    try:
        editors = tuple(Editor(_fingerprint(e["fingerprint"]), str(e.get("name") or ""),
                               str(e.get("person") or e.get("name") or ""))
                        for e in p.get("editors") or [])
        partners = tuple(Partner(str(x["name"]), _fingerprint(x["fingerprint"]),
                                 str(x["category"])) for x in p.get("partners") or [])
        consents = tuple(str(c) for c in (p.get("consent") or {}).get(
            "page", PAGE_CONSENTS))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"trust/: the latest statement is malformed ({exc})") from exc
    level, precision = p.get("publish_min_level"), p.get("location_precision")
    if level not in LEVELS or precision not in PRECISIONS or not set(consents) <= set(
            PAGE_CONSENTS):
        raise ConfigError("trust/: the latest statement holds an invalid publish_min_level, "
                          "location_precision or page consent")
    return replace(cfg, organisation=str(p.get("organisation") or cfg.organisation),
                   recipients=editors, partners=partners,
                   inbox_key=_fingerprint(p.get("inbox_key")),
                   site_key=_fingerprint(p.get("site_key")),
                   contact_email=str(p.get("contact_email") or ""),
                   publish_min_level=str(level), location_precision=str(precision),
                   page_consents=consents)


# -- the trust root's files, read (not verified) -----------------------------------------
# `trust.py` verifies the chain; settings only need the newest statement's payload, and
# every command that acts verifies it first (`trust.require`), so this reader stays here and
# the settings never import the verifier.
TRUST_FOLDER = "trust"
# The consents under which a case may have a page (the trust root may narrow them).
PAGE_CONSENTS = ("anonymised", "named")
TRUST_KIND = "trust-root"
TRUST_SERIAL = re.compile(r"^(\d{4,})\.json$")


def trust_statements(repo: Path) -> list[Path]:
    """The trust root's statements in serial order (0000.json, 0001.json, …)."""
    d = Path(repo) / TRUST_FOLDER
    if not d.is_dir():
        return []
    found = sorted((int(m.group(1)), p) for p in d.iterdir()
                   if (m := TRUST_SERIAL.match(p.name)) and p.is_file())
    return [p for _, p in found]


def trust_document(data: bytes) -> dict[str, Any] | None:
    """A trust-root statement's JSON, or None when `data` is not one."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("kind") != TRUST_KIND or not isinstance(
            doc.get("payload"), dict):
        return None
    return doc


def latest_trust_payload(repo: Path) -> dict[str, Any] | None:
    """The newest statement's payload, NOT verified, or None without a trust root."""
    files = trust_statements(repo)
    if not files:
        return None
    try:
        doc = trust_document(files[-1].read_bytes())
    except OSError:
        return None
    return dict(doc["payload"]) if doc else None
