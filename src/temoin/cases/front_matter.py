"""Reading a case.md front matter: safe YAML (libyaml's parser when present) where an
impossible date stays text for validation to report, and `FrontMatterCache`, the parsed front
matters kept by sha256 of their YAML text in this user's authenticated cache folder."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sys
from typing import Any

import yaml

from temoin import cache as cache_mod
from temoin import strict_yaml
from temoin.cases.schema import PRIVATE_KEYS
from temoin.errors import ValidationError

# The caches of this stage (docs/DESIGN.md, "Caches"): what their versions depend on.
FRONT_MATTER = cache_mod.Spec("front-matter.json", ("temoin.cases", "temoin.strict_yaml"),
                              ("PyYAML",),
                          "parsed case.md front matters by sha256 of their YAML text")


def _has_private_key(meta: Any) -> bool:
    stack = [meta]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not PRIVATE_KEYS.isdisjoint(value):
                return True
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def confidential_keys(meta: Any, path: str = "") -> list[str]:
    """Dotted paths of confidential keys anywhere in a front matter (the build refuses).
    Paths are only spelt out when there is one (twice a case a build, ~150 nodes each)."""
    if not path and not _has_private_key(meta):
        return []
    found: list[str] = []
    if isinstance(meta, dict):
        for k, v in meta.items():
            p = f"{path}.{k}" if path else str(k)
            if k in PRIVATE_KEYS:
                found.append(p)
            found.extend(confidential_keys(v, p))
    elif isinstance(meta, list):
        for i, v in enumerate(meta):
            found.extend(confidential_keys(v, f"{path}[{i}]"))
    return found


# libyaml's parser when present: a front matter parses ~3x faster than in pure Python,
# which is most of loading 20,000 cases (the constructors, and so the safety, are the same).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    """Safe YAML where an impossible date (2025-13-45) stays text, so validation can report
    it with the other problems instead of aborting the whole file."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    except ValueError:
        return loader.construct_scalar(node)  # type: ignore[arg-type]


def _str(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """Keys and vocabulary values repeat in every case ('type', 'victims', 'killing'...):
    one shared copy each instead of one per case (~2.5 KB a case, 50 MB at 20,000)."""
    return sys.intern(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_Loader.add_constructor("tag:yaml.org,2002:str", _str)


# -- load / save ------------------------------------------------------------------------
def _front_matter(head: str, where: str) -> Any:
    """The front matter's data; anchors, aliases and tags refused first (`strict_yaml`):
    a 1 KB alias bomb would otherwise expand in every walk over it."""
    try:
        return strict_yaml.load(head, where, _Loader, first_line=2)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 2}" if mark else ""
        raise ValidationError([f"{where}:{line}: front matter is not valid YAML"]) from exc


_DATE_TAG = "\x00date"


def _tag(value: object) -> object:
    if type(value) is dt.date:
        return {_DATE_TAG: value.isoformat()}
    raise TypeError(f"not cached: {type(value).__name__}")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _DATE_TAG in obj:
        return dt.date.fromisoformat(obj[_DATE_TAG])
    return obj


class FrontMatterCache:
    """Parsed front matters by sha256 of their YAML text (`FRONT_MATTER`): libyaml takes
    ~1.1 ms a case.md, JSON ~0.05 ms (1,000 cases: 1.1 s -> 0.05 s). Only the YAML parse is
    cached: validation still runs on every load. An entry must decode to exactly what YAML
    gave, and a front matter holding a confidential key (which the build refuses) is never
    written. Rewritten only when its entries change, with the entries of this load only.
    `store`: the build's cache store (None: no cache, every file parsed)."""

    def __init__(self, store: cache_mod.Store | None) -> None:
        # CSafeLoader or SafeLoader: either parses, their results may differ in details.
        self.file = store.file(FRONT_MATTER, (_SafeLoader.__name__,)) \
            if store is not None else None
        self.old: dict[str, Any] = {}
        raw = self.file.load() if self.file is not None else None
        with contextlib.suppress(ValueError, TypeError, RecursionError):
            data = json.loads(raw, object_hook=_untag) if raw is not None else None
            if isinstance(data, dict):
                self.old = data
        self.used: dict[str, Any] = {}
        self.changed = False

    @staticmethod
    def key(head: str) -> str:
        return hashlib.sha256(head.encode("utf-8", "surrogatepass")).hexdigest()

    def lookup(self, key: str) -> Any:
        """The cached front matter of this key, or None (then parse the file)."""
        if key in self.old and key not in self.used:
            meta = self.used[key] = self.old.pop(key)
            return meta
        return None

    def get(self, head: str, where: str) -> Any:
        key = self.key(head)
        if key in self.old and key not in self.used:
            meta = self.used[key] = self.old.pop(key)
            return meta
        meta = _front_matter(head, where)
        if key not in self.used and isinstance(meta, dict) and not confidential_keys(meta):
            try:  # a copy: the caller may change its own meta before `save`
                copy = json.loads(json.dumps(meta, default=_tag), object_hook=_untag)
            except (TypeError, ValueError, RecursionError):
                copy = None
            if copy == meta:
                self.used[key] = copy
                self.changed = True
        return meta

    def save(self) -> None:
        if self.file is None or not (self.changed or self.old):
            return
        self.file.save(json.dumps(self.used, default=_tag).encode("ascii"))
