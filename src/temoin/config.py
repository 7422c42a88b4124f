"""Témoin's settings: the `temoin` plugin block of mkdocs.yml, validated once, frozen.

Machine-local settings (GNUPGHOME, TEMOIN_PASSPHRASE_FILE, TEMOIN_EDITOR) come from the
environment and are read where they are used, never stored in the repo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from temoin.errors import ConfigError, RepoError

CONFIG_FILE = "mkdocs.yml"
PERIODS = ("week", "month", "quarter")
LEVELS = ("received", "recorded", "credible", "verified", "confirmed")
PRECISIONS = ("country", "admin1", "admin2")
PARTNER_CATEGORIES = ("un_mechanism", "court", "embassy", "lawyer", "ngo", "media")
_FPR = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")


@dataclass(frozen=True)
class Editor:
    fingerprint: str
    name: str


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
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def recipient_fingerprints(self) -> tuple[str, ...]:
        return tuple(e.fingerprint for e in self.recipients)

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


class _TolerantLoader(yaml.SafeLoader):
    """Safe YAML that reads mkdocs.yml's custom tags (!ENV, !!python/name) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_TolerantLoader.add_multi_constructor("!", _any_tag)
_TolerantLoader.add_multi_constructor("tag:yaml.org,2002:python/", _any_tag)


def read_mkdocs_yml(path: Path) -> dict[str, Any]:
    """Parse mkdocs.yml safely (no Python object construction, whatever its tags say)."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TolerantLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping, got {type(data).__name__}")
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
    mk = read_mkdocs_yml(repo / CONFIG_FILE)
    return from_options(repo, plugin_options(mk), mk)


def _expect(cond: bool, key: str, expected: str, got: Any, problems: list[str]) -> None:
    if not cond:
        problems.append(f"mkdocs.yml: plugins.temoin.{key}: expected {expected}, got {got!r}")


def _fingerprint(value: Any) -> str:
    return str(value or "").replace(" ", "").upper()


def from_options(repo: Path, opts: dict[str, Any], mkdocs: dict[str, Any] | None = None) -> Config:
    """Validate the plugin options into a Config; every problem is reported at once."""
    mkdocs = mkdocs or {}
    problems: list[str] = []
    known = {f for f in Config.__dataclass_fields__ if f not in ("repo", "extra", "site_url",
                                                                 "site_name")}
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
    editors: list[Editor] = []
    for i, r in enumerate(opts.get("recipients") or []):
        fpr, name = (_fingerprint(r.get("fingerprint")), str(r.get("name", ""))) \
            if isinstance(r, dict) else (_fingerprint(r), "")
        _expect(bool(_FPR.match(fpr)), f"recipients[{i}]", "a fingerprint or "
                "{fingerprint, name}", r, problems)
        editors.append(Editor(fpr, name or fpr[-16:]))
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
    return Config(
        repo=Path(repo), organisation=org, country=country, case_prefix=prefix,
        inbox_key=inbox, recipients=tuple(editors), partners=tuple(partners),
        bulletin_period=period, publish_min_level=level, location_precision=precision,
        languages=langs, contact_email=str(get("contact_email") or ""), data_licence=licence,
        site_url=str(mkdocs.get("site_url") or ""), site_name=str(mkdocs.get("site_name") or ""),
        **ints,
    )
