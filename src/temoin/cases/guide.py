"""What the field table (`cases.schema`) tells people: `docs/cases.md` and the commented
template `temoin case edit` and `case new` open.

Both are generated from the table, so they cannot drift from what `validate` accepts:
`temoin schema --markdown` prints the documentation, a test compares it with the committed
file. The template's comments are `#!temoin` lines (`MARK`): help from the table and what
is still missing, stripped before a save is validated and never written.
"""

from __future__ import annotations

import re
from typing import Any

from temoin.cases import schema, vocab
from temoin.cases.schema import PRIVATE, PUBLIC, TO_PUBLISH, Field

MARK = "#!temoin "
_KINDS = {"mapping": "mapping", "list": "list", "text": "text", "lang_text": "{fr, en}",
          "date": "date YYYY-MM-DD", "bool": "true/false", "count": "whole number",
          "term": "code", "fingerprint": "key fingerprint", "case_id": "case id",
          "country": "country code", "admin1": "province/region", "ref": "id",
          "file": "file name", "any": "YAML"}
PUBLISHABLE = ("anonymised", "named")  # consents that give a page (curation.PUBLIC_CONSENTS)


# -- docs/cases.md ---------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(f: Field) -> str:
    if f.kind == "list":
        item = schema.BY_PATH.get((f.part, f.path + "[]"))
        return f"list of {_type(item)}" if item else "list"
    if f.kind == "term":
        return f"code ([{f.vocabulary}](#{f.vocabulary}))"
    return _KINDS[f.kind]


def _required(f: Field) -> str:
    return {schema.ALWAYS: "always", TO_PUBLISH: "to publish"}.get(f.required, "")


def _set_by(f: Field) -> str:
    if f.editable:
        return "`case edit`, `case set`" + (" `--private`" if f.part == PRIVATE else "")
    return ", ".join(f"`{c}`" if c in ("ingest", "migrate") else f"`case {c}`" for c in f.set_by)


def _rows(part: str) -> list[str]:
    head = ["| field | label (FR / EN) | type | required | set by | help | example |",
            "|---|---|---|---|---|---|---|"]
    return head + [
        f"| `{f.path}` | {_cell(f.fr)} / {_cell(f.en)} | {_type(f)} | {_required(f)} | "
        f"{_set_by(f)} | {_cell(f.help)}{' Public: ' + f.shown + '.' if f.shown else ''} | "
        f"{'`' + _cell(f.example) + '`' if f.example else ''} |"
        for f in schema.fields(part) if not (f.path.endswith("[]") and not f.help
                                              and f.kind in ("any", "mapping"))]


def markdown() -> str:
    """docs/cases.md: every field, public and private, and every allowed value in French and
    English (from the vocabularies and gazetteers)."""
    out = [
        "# Case fields",
        "",
        "<!-- Generated from src/temoin/cases/schema.py by `temoin schema --markdown > "
        "docs/cases.md`; do not edit by hand (a test compares). -->",
        "",
        "A case is a folder `cases/<ID>/`: **`case.md`**, public (YAML front matter, then the "
        "anonymised narrative in Markdown), and **`private.yaml.asc`**, confidential, "
        "encrypted to every editor key. `temoin case edit ID` opens both (the private part "
        "decrypted on tmpfs only) with these explanations as `#!temoin` comments, which are "
        "removed when you save. `temoin case set ID PATH=VALUE` sets one field "
        "(`--private` for the private part): paths are dotted, list items numbered from 0 "
        "(`victims.0.sex=f`).",
        "",
        "*Required*: **always** is checked on every save; **to publish** is what "
        "`temoin case publish` needs besides the signed steps. Fields *set by* a `case` "
        "command other than `edit`/`set` record the workflow: `edit` and `set` refuse to "
        "change them and name the command that does. A key of the private part's identity "
        "fields (a name, a contact, an exact place) found in `case.md` stops the build.",
        "",
        "## Public part: `case.md` front matter",
        "",
        *_rows(PUBLIC),
        "",
        "To publish, a case also needs `consent` anonymised or named (aggregate_only: counted "
        "in the statistics, no page), `verification` at or above the organisation's "
        "`publish_min_level`, a verification and an approval signed by two different "
        "editors for its current content, and a risk review:",
        "",
        "```sh",
        "temoin case review ID                     # draft -> review",
        "temoin case set ID consent=anonymised     # what the people concerned agreed to",
        "temoin case verify ID --level verified    # editor 1 signs",
        "temoin case approve ID                    # editor 2 signs (four eyes)",
        "temoin case risk-review ID                # the risks of publishing were weighed",
        "temoin case publish ID",
        "```",
        "",
        "## Private part: `private.yaml.asc`",
        "",
        "Free YAML mapping; these are the fields Témoin writes or reads. Any value here is "
        "searched for in the built site, which refuses to finish if one shows up.",
        "",
        *_rows(PRIVATE),
        "",
        "Confidential key names (refused in `case.md`): "
        + ", ".join(f"`{k}`" for k in sorted(schema.PRIVATE_KEYS)) + ".",
        "",
        "## Allowed values",
        "",
    ]
    used = dict.fromkeys(f.vocabulary for f in schema.FIELDS if f.vocabulary)
    for name in used:
        out += [f"### {name}", "", "| code | français | English |", "|---|---|---|"]
        out += [f"| `{code}` | {_cell(str(t['fr']))} | {_cell(str(t['en']))} |"
                for code, t in vocab.terms(name).items()]
        out.append("")
    out += ["### Countries and provinces (`event.location`)", "",
            "`admin1` takes the code or the French or English name; a name two divisions "
            "share resolves by the event date.", ""]
    for country in vocab.countries():
        out += [f"#### {country}: {vocab.country_label(country, 'fr')} / "
                f"{vocab.country_label(country, 'en')}", "",
                "| code | français | English | in force |", "|---|---|---|---|"]
        for p in vocab.places(country):
            since = f"from {p.valid_from}" if p.valid_from else ""
            until = f"until {p.valid_until}" if p.valid_until else ""
            force = " ".join(x for x in (since, until) if x)
            out.append(f"| `{p.code}` | {p.fr} | {p.en} | {force} |")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# -- the editor's template ---------------------------------------------------------------------
def _get(meta: Any, path: str) -> Any:
    for k in path.split("."):
        meta = meta.get(k) if isinstance(meta, dict) else None
    return meta


def _summary(f: Field) -> str:
    """One line: what the field is, its allowed codes or shape, an example."""
    bits = [f"{f.en} / {f.fr}"]
    if f.help:
        bits.append(f.help)
    if f.kind == "term":
        bits.append("one of: " + " | ".join(vocab.terms(f.vocabulary)))
    item = schema.BY_PATH.get((f.part, f.path + "[]"))
    kids = schema.children(item.path if item else f.path, f.part)
    if kids:
        bits.append("keys: " + ", ".join(
            k.key + (f" ({'|'.join(vocab.terms(k.vocabulary))})" if k.kind == "term" else "")
            for k in kids))
    if not f.editable:
        bits.append(f"set by `temoin case {f.set_by[0]}`, not by hand")
    example = f.example or (item.example if item else "")
    if example:
        bits.append(f"e.g. {example}")
    return ". ".join(b.rstrip(".") for b in bits) + "."


def missing(meta: dict[str, Any]) -> list[str]:
    """What the public part still lacks to be published (fields an editor fills in)."""
    out = []
    for f in schema.fields(PUBLIC):
        if f.required == TO_PUBLISH and f.editable and _get(meta, f.path) in (None, [], {}, ""):
            out.append(f"{f.path}: {_summary(f)}")
    if meta.get("consent") not in PUBLISHABLE:
        out.append(f"consent is {meta.get('consent')!s}: a page needs anonymised or named "
                   "(what the people concerned agreed to; aggregate_only: statistics only).")
    return out


_KEY_LINE = re.compile(r"^([A-Za-z_][\w-]*):")


def public_template(text: str, meta: dict[str, Any] | None, case_id: str) -> str:
    """case.md with help comments: a header listing what is still missing, a line above
    each top-level field, and the fields not there yet at the end."""
    head, sep, body = text[4:].partition("\n---\n")
    if not text.startswith("---\n") or not sep:
        return text
    lines = [f"{MARK}{case_id}: lines starting with #!temoin are help, removed when you "
             "save. Every field: docs/cases.md.\n"]
    todo = missing(meta) if isinstance(meta, dict) else []
    if todo:
        lines.append(f"{MARK}Still missing to publish:\n")
        lines += [f"{MARK}  - {m}\n" for m in todo]
    lines.append(f"{MARK}Then: `temoin case review`, `verify --level LEVEL`, a second "
                 "editor's `approve`, `risk-review`, `publish`.\n")
    for line in (head + "\n").splitlines(keepends=True):
        m = _KEY_LINE.match(line)
        f = schema.BY_PATH.get((PUBLIC, m.group(1))) if m else None
        if f is not None:
            lines.append(f"{MARK}{f.key}: {_summary(f)}\n")
        lines.append(line)
    absent = [f for f in schema.children("") if f.editable and f.kind != "mapping" or
              f.key in ("event", "sources")]
    absent = [f for f in absent if not (isinstance(meta, dict) and f.key in meta)]
    if absent:
        lines.append(f"{MARK}Not filled in yet (add the lines you need):\n")
        lines += [f"{MARK}  {f.key}: {_summary(f)}\n" for f in absent]
    return "---\n" + "".join(lines) + "---\n" + body


def private_template(data: dict[str, Any], case_id: str) -> str:
    """The comment block above the private part: the fields it may hold, those not there yet
    listed with their help (never a value)."""
    lines = [f"{MARK}Confidential part of {case_id}: names, contacts, exact places, testimony, "
             "sources.\n",
             f"{MARK}This copy lives in memory only; it is re-encrypted to every editor and "
             "wiped when you quit.\n"]
    absent = [f for f in schema.children("", PRIVATE) if f.editable and f.key not in data]
    if absent:
        lines.append(f"{MARK}Fields you may add (docs/cases.md):\n")
        lines += [f"{MARK}  {f.key}: {_summary(f)}\n" for f in absent]
    return "".join(lines)
