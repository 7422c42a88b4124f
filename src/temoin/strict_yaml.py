"""YAML as Témoin reads it from a repository: plain data, nothing that expands or constructs.

Anchors and aliases are refused: 1 KB of nested aliases ("billion laughs") makes a few
thousand nodes that every walk over the data (validation, the canary scan, a JSON copy)
expands into billions. Explicit tags are refused too, except the standard scalar ones
(`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!timestamp`): a safe loader refuses
Python objects anyway, but `!!binary`, `!!set`, `!!omap` or a custom `!tag` give values the
schema never expects, and nothing Témoin writes uses one. Dates need no tag: `2025-10-03`
is resolved implicitly. Refused with the file, the line and the rule, in milliseconds:
before anything is constructed.

The check costs nothing on ordinary text: YAML marks an anchor with `&`, an alias with `*`
and a tag with `!`; a text without any of the three is loaded at once, any other is first
read as events by libyaml (~0.5 ms a front matter) to tell `AT&T` or `*emphasis*` inside a
string from the real thing.

`load(text, where)` is the strict load; `problems(text)` lists what it would refuse (for
callers with their own loader, such as mkdocs.yml's: `check(text, where)` raises).
"""

from __future__ import annotations

from typing import Any

import yaml

from temoin.errors import ValidationError

# libyaml's parser when present (same events, ~3x faster than the pure-Python one).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ALLOWED_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in
                         ("str", "int", "float", "bool", "null", "timestamp"))
_MARKS = ("&", "*", "!")
MAX_PROBLEMS = 5
# Private parts written before anchors were refused may repeat a date as `&id001`/`*id001`:
# an alias of a short scalar is read there (linear: no walk grows more than the text).
SHORT_SCALAR = 64


def _line(event: yaml.Event, first_line: int) -> int:
    mark = event.start_mark
    return (mark.line if mark is not None else 0) + first_line


def problems(text: str, first_line: int = 1, scalar_aliases: bool = False) -> list[str]:
    """What the strict rule refuses in `text`, each as 'line N: what'. `first_line`: the
    number of the text's first line in its file (front matter starts on line 2).
    `scalar_aliases`: anchors on scalars of at most SHORT_SCALAR characters, and aliases to
    them, are allowed (no expansion: each alias stands for one short value)."""
    if not any(m in text for m in _MARKS):
        return []
    found: list[str] = []
    short: set[str] = set()
    try:
        for event in yaml.parse(text, Loader=_SafeLoader):
            line = _line(event, first_line)
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.AliasEvent):
                if anchor not in short:
                    found.append(f"line {line}: alias *{anchor} (YAML anchors and aliases "
                                 "are refused: write the value out)")
            elif anchor is not None and scalar_aliases and isinstance(
                    event, yaml.ScalarEvent) and len(event.value) <= SHORT_SCALAR:
                short.add(anchor)
            elif anchor is not None:
                short.discard(anchor)  # a re-used name now anchors something else
                found.append(f"line {line}: anchor &{anchor} (YAML anchors and aliases "
                             "are refused: write the value out)")
            tag = getattr(event, "tag", None)
            explicit = not isinstance(event, yaml.ScalarEvent) or not any(event.implicit)
            if tag is not None and explicit and tag not in ALLOWED_TAGS and tag != "!":
                found.append(f"line {line}: tag {tag} (only plain values and the standard "
                             "scalar tags are read)")
            if isinstance(event, yaml.DocumentStartEvent) and event.tags:
                found.append(f"line {line}: %TAG directive (tags are refused)")
            if len(found) >= MAX_PROBLEMS:
                break
    except yaml.YAMLError:
        return found  # not YAML at all: the loader says so with its own message
    return found


def check(text: str, where: str, first_line: int = 1, scalar_aliases: bool = False) -> None:
    """Raise ValidationError naming `where`, the line and the rule if `text` holds an
    anchor, an alias or a non-standard tag."""
    found = problems(text, first_line, scalar_aliases)
    if found:
        raise ValidationError([f"{where}: {p}" for p in found])


class DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping, or a merge key (`<<`)."""


_MERGE = "tag:yaml.org,2002:merge"
_UNIQUE: dict[type[yaml.SafeLoader], type[yaml.SafeLoader]] = {}


def unique_keys(loader: type[yaml.SafeLoader]) -> type[yaml.SafeLoader]:
    """`loader` refusing a key given twice in one mapping and a merge key (`<<: {…}`).
    A YAML reader keeps the last of two equal keys without a word, so a person reading the
    file (a verifier reviewing case.md, an editor adding a second `name:` or `phone:` to a
    victim in private.yaml) reads a value the program never sees: in a private part the
    first value was lost, and with it the canary guarding the site. Merge keys, written
    without an alias, override nothing visibly either."""
    unique = _UNIQUE.get(loader)
    if unique is None:
        class Unique(loader):  # type: ignore[valid-type,misc]
            def construct_mapping(self, node: yaml.Node, deep: bool = False) -> Any:
                if isinstance(node, yaml.MappingNode):
                    seen: set[tuple[str, str]] = set()
                    for key, _value in node.value:
                        if key.tag == _MERGE:
                            raise DuplicateKey(None, None, "merge key << (write the keys "
                                               "out)", key.start_mark)
                        if isinstance(key, yaml.ScalarNode):
                            if (key.tag, key.value) in seen:
                                raise DuplicateKey(None, None, f"key {key.value!r} given "
                                                   "twice in one mapping (YAML would keep "
                                                   "the last one only)", key.start_mark)
                            seen.add((key.tag, key.value))
                return super().construct_mapping(node, deep)

        unique = _UNIQUE[loader] = Unique
    return unique


def load(text: str, where: str, loader: type[yaml.SafeLoader] = _SafeLoader,
         first_line: int = 1, scalar_aliases: bool = False) -> Any:
    """`text` loaded with `loader` (a SafeLoader subclass) once `check` passed; a key given
    twice in one mapping or a merge key is refused too (`unique_keys`), naming the line."""
    check(text, where, first_line, scalar_aliases)
    try:
        return yaml.load(text, Loader=unique_keys(loader))  # noqa: S506 - SafeLoader subclass
    except DuplicateKey as exc:
        mark = exc.problem_mark
        line = (mark.line if mark is not None else 0) + first_line
        raise ValidationError([f"{where}: line {line}: {exc.problem}"]) from None


class NoAliasDumper(yaml.SafeDumper):
    """SafeDumper that writes a repeated value out each time instead of `&id001`/`*id001`
    (PyYAML anchors any object met twice, such as one date used for two fields)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_CSafeDumper: type[yaml.SafeDumper] | None = getattr(yaml, "CSafeDumper", None)
NoAliasCDumper: type[yaml.SafeDumper] | None = None
if _CSafeDumper is not None:
    class _NoAliasCDumper(_CSafeDumper):  # type: ignore[valid-type,misc]
        """libyaml's emitter, with no anchors either."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    NoAliasCDumper = _NoAliasCDumper
