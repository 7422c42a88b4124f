"""Editing a case: `$EDITOR` on a tmpfs copy (`case edit`) or PATH=VALUE (`case set`).

The decrypted private part only ever exists in memory and in a `tmpfs.session()` folder,
wiped however the session ends; `case set` needs no file at all.

What is saved is validated like everything else: case.md by the schema
(`cases.validate`), the private part as a YAML mapping, no private value in the public text,
and no workflow field (status, verification, signatures…) changed by hand: those belong to
the signed workflow commands. An invalid save reopens the editor with the problems as a
comment block at the top; quitting without a change gives up and saves nothing.
"""

from __future__ import annotations

import copy
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from temoin import cases, curation, custody, strict_yaml
from temoin.cases import guide, schema
from temoin.config import Config
from temoin.errors import CaseError, TemoinError, ValidationError
from temoin.keys import vault
from temoin.tmpfs import session, write_secret

if TYPE_CHECKING:
    from temoin.keys import Keyring

MARK = "#!temoin "     # our comment lines: stripped before validating, never saved
# Fields only the workflow commands change (they sign or log the change), and which command
# does: derived from the field table (`cases.schema`).
PROTECTED = schema.PROTECTED
_COMMANDS = schema.COMMANDS


# -- validation ---------------------------------------------------------------------------
def strip_marks(text: str) -> str:
    return "".join(ln for ln in text.splitlines(keepends=True) if not ln.startswith(MARK))


def _get(meta: Any, path: tuple[str, ...]) -> Any:
    for k in path:
        meta = meta.get(k) if isinstance(meta, dict) else None
    return meta


def protected_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Workflow fields changed by hand, each with the command that changes it."""
    out = []
    for path in PROTECTED:
        if (_get(old, path) or None) != (_get(new, path) or None):  # absent = null = empty
            name = ".".join(path)
            out.append(f"case.md: {name}: changed by hand; only `temoin case "
                       f"{_COMMANDS[name]}` changes it (it signs or logs the change)")
    return out


def parse_private(text: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The private part as a mapping, or the problems (position only, never content)."""
    try:  # a key given twice is refused: YAML would drop the first value without a word
        data = yaml.load(text, Loader=strict_yaml.unique_keys(yaml.SafeLoader))  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        why = getattr(exc, "problem", None) or "not valid YAML"
        return None, [f"private.yaml{at}: {why}"]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return None, [f"private.yaml: expected a YAML mapping (key: value lines), got a "
                      f"{type(data).__name__}"]
    return data, []


def check_pair(case_id: str, old_meta: dict[str, Any], public: str, private_text: str
               ) -> tuple[cases.Case | None, dict[str, Any] | None, list[str]]:
    """Validate an edited (case.md, private.yaml) pair: (case, private, problems)."""
    problems: list[str] = []
    case = None
    try:
        case = cases.parse(public, "case.md")
    except ValidationError as exc:
        problems += exc.problems
    private, p_problems = parse_private(private_text)
    problems += p_problems
    if case is not None:
        problems += protected_changes(old_meta, case.meta)
    if case is not None and private:
        problems += [f"case.md: holds a value of the private part ({f}): keep names, contacts, "
                     "exact places and testimony text in private.yaml"
                     for f in curation.private_leaks(public, case_id, private)]
    return case, private, problems


def with_problems(text: str, problems: list[str], public: bool) -> str:
    """`text` with the problems as a comment block at its top (inside the front matter),
    above any help comments it has."""
    block = [f"{MARK}Not saved. Fix the problems below, save and quit (quit without saving "
             "to give up):\n"] + [f"{MARK}  - {p}\n" for p in problems]
    if public and text.startswith("---\n"):
        return "---\n" + "".join(block) + text[4:]
    return "".join(block) + text


def _head(text: str) -> dict[str, Any]:
    """The front matter of a case.md text as far as YAML reads it ({} if it does not)."""
    head = text[4:].split("\n---", 1)[0] if text.startswith("---\n") else ""
    try:
        meta = yaml.load(head, Loader=cases._Loader)  # noqa: S506 (SafeLoader)
    except yaml.YAMLError:
        return {}
    return meta if isinstance(meta, dict) else {}


# -- case edit ----------------------------------------------------------------------------
@dataclass
class EditResult:
    case_id: str
    public_changed: bool = False
    private_changed: bool = False
    rounds: int = 0
    notes: list[str] = field(default_factory=list)


def editor_command() -> list[str]:
    """$EDITOR (else $VISUAL, else vi) as argv; vim is told to keep no swap or viminfo."""
    raw = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
    cmd = shlex.split(raw)
    if not cmd:
        raise TemoinError("EDITOR is empty: set it, e.g. `export EDITOR=nano`")
    found = shutil.which(cmd[0])
    # Debian's `vi` (the default) is vim under another name: look at what it runs.
    if "vim" in Path(cmd[0]).name or (found and "vim" in Path(found).resolve().name):
        # No swap file, no ~/.viminfo (it keeps yanked text: plaintext on disk), no undo file.
        cmd += ["-n", "-i", "NONE", "--cmd", "set nobackup nowritebackup noundofile"]
    return cmd


def edit(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str,
         only: str | None = None) -> EditResult:
    """Open case.md and the decrypted private part in $EDITOR; save what validates."""
    sealed = vault.Vault(keyring, cfg.recipient_fingerprints)
    # A draft's case.md is sealed (issue 16): decrypted in memory, shown only in tmpfs.
    public0 = cases.read_text(repo, case_id, sealed)
    try:
        old_meta = cases.parse(public0, "case.md").meta
        before = curation.content_hash(cases.load(repo, case_id, sealed))
    except ValidationError:  # a broken case.md may be repaired here
        old_meta = _head(public0)
        before = ""
    private0 = cases.read_private(repo, case_id, keyring)
    private_text0 = yaml.safe_dump(private0, allow_unicode=True, sort_keys=False,
                                   width=100) if private0 else ""
    result = EditResult(case_id)
    cmd = editor_command()
    with session() as tmp:
        pub, priv = tmp / "case.md", tmp / "private.yaml"
        # Both open as commented templates: help from the field table, what is still
        # missing (`cases.guide`); the comments are stripped before anything is validated.
        write_secret(pub, guide.public_template(public0, old_meta, case_id))
        write_secret(priv, guide.private_template(private0, case_id) + private_text0)
        files = {"public": [pub], "private": [priv]}.get(only or "", [pub, priv])
        while True:
            shown = {p: p.read_bytes() for p in (pub, priv)}
            result.rounds += 1
            run = subprocess.run([*cmd, *map(str, files)], check=False)
            if run.returncode != 0:
                raise TemoinError(f"the editor exited with status {run.returncode}: nothing "
                                  "saved")
            now = {p: p.read_bytes() for p in (pub, priv)}
            public = strip_marks(now[pub].decode("utf-8", "replace"))
            private_text = strip_marks(now[priv].decode("utf-8", "replace"))
            if public == public0 and private_text == private_text0:
                return result  # nothing changed
            case, private, problems = check_pair(case_id, old_meta, public, private_text)
            if not problems:
                break
            if result.rounds > 1 and now == shown:
                raise ValidationError([*problems, "gave up: nothing saved"])
            shown_pub = guide.public_template(public, _head(public), case_id)
            shown_priv = guide.private_template(private or {}, case_id) + private_text
            write_secret(pub, with_problems(shown_pub, problems, public=True) if any(
                p.startswith("case.md") for p in problems) else shown_pub)
            write_secret(priv, with_problems(shown_priv, problems, public=False) if any(
                p.startswith("private.yaml") for p in problems) else shown_priv)
    assert case is not None and private is not None
    if private_text != private_text0:
        cases.write_private(repo, case_id, private, keyring, cfg.recipient_fingerprints, editor)
        result.private_changed = True
    if public != public0:
        cases.save(repo, case, vault=sealed)
        result.public_changed = True
    _after(repo, case_id, editor, before, result, "edited")
    return result


def _after(repo: Path, case_id: str, editor: str, before: str, result: EditResult,
           action: str, **extra: Any) -> None:
    case = cases.load(repo, case_id)
    parts = [p for p, ch in (("public", result.public_changed),
                             ("private", result.private_changed)) if ch]
    custody.append(repo, action, case=case_id, editor=editor, parts=parts,
                   content_sha256=curation.content_hash(case), **extra)
    review = case.meta.get("review") or {}
    if result.public_changed and curation.content_hash(case) != before and (
            review.get("verified_by") or review.get("approved_by")):
        hidden = " It is off the site (and `temoin build` refuses) until then." \
            if case.status == "published" else ""
        result.notes.append(f"the public content changed: {case_id} needs a new verification "
                            f"and approval (`temoin case verify`, then `approve`).{hidden}")


# -- case set -----------------------------------------------------------------------------
_TOKEN = re.compile(r"([A-Za-z_][\w-]*)|(\d+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """'victims.0.full_name' or 'victims[0].full_name' -> ['victims', 0, 'full_name']."""
    out: list[str | int] = []
    rest = path.strip()
    while rest:
        m = _TOKEN.match(rest)
        if not m:
            raise CaseError(f"{path!r}: expected a dotted path like event.location.admin1 or "
                            "victims.0.sex")
        out.append(m.group(1) if m.group(1) else int(m.group(2) or m.group(3)))
        rest = rest[m.end():]
        if rest.startswith("."):
            rest = rest[1:]
            if not rest:
                raise CaseError(f"{path!r}: ends with a dot")
    if not out or not isinstance(out[0], str):
        raise CaseError(f"{path!r}: expected a field name first")
    return out


def parse_assignment(text: str) -> tuple[list[str | int], Any]:
    """'PATH=VALUE' -> (path, YAML value). The value is never echoed in an error."""
    path, sep, raw = text.partition("=")
    if not sep:
        raise CaseError(f"expected PATH=VALUE, got an argument without '=' "
                        f"({len(text)} characters)")
    try:
        value = yaml.load(raw, Loader=cases._Loader) if raw.strip() else None  # noqa: S506
    except yaml.YAMLError:
        raise CaseError(f"{path}: the value is not valid YAML (quote text: "
                        f"{path}='\"…\"')") from None
    return parse_path(path), value


def assign(doc: Any, path: list[str | int], value: Any) -> None:
    """Set `value` at `path` in nested dicts/lists, creating mappings and lists on the way;
    a list index may be the list's length (appends)."""
    where = ""
    for i, key in enumerate(path):
        last = i == len(path) - 1
        nxt: Any = None if last else ([] if isinstance(path[i + 1], int) else {})
        where = f"{where}.{key}" if where else str(key)
        if isinstance(doc, list) and isinstance(key, int):
            if key > len(doc):
                raise CaseError(f"{where}: index {key} past the end (the list has {len(doc)})")
            if key == len(doc):
                doc.append(value if last else nxt)
            elif last:
                doc[key] = value
            doc = doc[key]
        elif isinstance(doc, dict):
            k = str(key)
            if last:
                doc[k] = value
            elif not isinstance(doc.get(k), (dict, list)):
                doc[k] = nxt
            doc = doc[k]
        else:
            raise CaseError(f"{where}: cannot go inside a {type(doc).__name__} here")


def set_fields(repo: Path, cfg: Config, keyring: Keyring | None, case_id: str,
               assignments: list[str], editor: str, private: bool = False) -> EditResult:
    """Apply PATH=VALUE assignments to case.md (or the private part), validated like an
    edit; nothing is written unless every assignment and the result are valid."""
    if not assignments:
        raise CaseError("nothing to set: give PATH=VALUE arguments")
    parsed = [parse_assignment(a) for a in assignments]
    case = cases.load(repo, case_id)
    before = curation.content_hash(case)
    result = EditResult(case_id)
    has_private = cases.private_path(repo, case_id).exists()
    if private or has_private:
        if keyring is None:
            raise TemoinError("GNUPGHOME is needed to read the private part")
        secret = cases.read_private(repo, case_id, keyring)
    else:
        secret = {}
    if private:
        data = copy.deepcopy(secret)
        for path, value in parsed:
            assign(data, path, value)
        problems = [f"case.md: holds a value of the private part ({f}): move it out of the "
                    f"public text first" for f in curation.private_leaks(cases.dumps(case),
                                                                          case_id, data)]
        if problems:
            raise ValidationError(problems)
        assert keyring is not None
        cases.write_private(repo, case_id, data, keyring, cfg.recipient_fingerprints, editor)
        result.private_changed = True
    else:
        meta = copy.deepcopy(case.meta)
        for path, value in parsed:
            assign(meta, path, value)
        new = cases.Case(meta=meta, narrative=case.narrative, folder=case.folder)
        problems = cases.validate(meta, f"cases/{case_id}/case.md")
        problems += protected_changes(case.meta, meta)
        if not problems and secret:
            problems += [f"case.md: holds a value of the private part ({f}): keep it in the "
                         f"private part (--private)" for f in curation.private_leaks(
                             cases.dumps(new), case_id, secret)]
        if problems:
            raise ValidationError(problems)
        cases.save(repo, new)
        result.public_changed = True
    fields = [".".join(str(k) for k in p) for p, _ in parsed]
    _after(repo, case_id, editor, before, result, "set", fields=fields)
    return result
