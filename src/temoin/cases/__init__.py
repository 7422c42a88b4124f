"""The case: public `case.md` (allow-listed front matter + anonymised narrative) and its
confidential parts, `private.yaml.asc` and its evidence files, signed by their writer and
encrypted to the editors (`cases.parts`).

Loading is strict: an unknown key, a bad vocabulary term, a bad date or a missing field is
a problem naming the file, the field, what was expected and what was found. Every problem is
collected, not only the first.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import re
from collections.abc import Container, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from temoin import cache as cache_mod
from temoin import padding, strict_yaml
from temoin.cases import review, schema, validation, vocab
from temoin.cases.front_matter import FRONT_MATTER as FRONT_MATTER
from temoin.cases.front_matter import FrontMatterCache as FrontMatterCache
from temoin.cases.front_matter import _front_matter as _front_matter
from temoin.cases.front_matter import _Loader as _Loader
from temoin.cases.front_matter import _SafeLoader as _SafeLoader
from temoin.cases.front_matter import confidential_keys as confidential_keys
from temoin.cases.parts import PRIVATE as PRIVATE
from temoin.cases.parts import PartsRefused as PartsRefused
from temoin.cases.parts import evidence_file as evidence_file
from temoin.cases.parts import evidence_name as evidence_name
from temoin.cases.parts import evidence_path as evidence_path
from temoin.cases.parts import private_path as private_path
from temoin.cases.parts import private_yaml as private_yaml
from temoin.cases.parts import read_evidence as read_evidence
from temoin.cases.parts import read_private as read_private
from temoin.cases.parts import read_privates as read_privates
from temoin.cases.parts import write_evidence as write_evidence
from temoin.cases.parts import write_private as write_private
from temoin.errors import CaseError, CryptoError, ValidationError
from temoin.files import write_atomic

if TYPE_CHECKING:
    from temoin.cache import StatCache
    from temoin.keys.vault import Vault

CASES = "cases"
PUBLIC = "case.md"
SEALED = "case.md.asc"  # every case that is not published: the whole case.md, encrypted
# The field table and what is derived from it live in `cases.schema` (one table, one place).
ID_RE, FPR_RE, ID_FORMAT = schema.ID_RE, schema.FPR_RE, schema.ID_FORMAT
PRIVATE_KEYS, FIELD_ORDER, REQUIRED = schema.PRIVATE_KEYS, schema.FIELD_ORDER, schema.REQUIRED
validate = validation.validate

STAT_CASES = cache_mod.Spec("stat-cases.json", ("temoin.cases", "temoin.curation"), ("PyYAML",),
                        "what a build read in case.md files, statements and signatures")


@dataclass
class Case:
    """One case as loaded from `cases/<ID>/case.md`."""

    meta: dict[str, Any]
    narrative: str = ""
    folder: Path = field(default_factory=Path)

    @property
    def id(self) -> str:
        return str(self.meta.get("id", ""))

    @property
    def status(self) -> str:
        return str(self.meta.get("status", ""))

    @property
    def path(self) -> Path:
        return self.folder / PUBLIC

    @property
    def stored_path(self) -> Path:
        """The file that holds it: case.md when published, case.md.asc (encrypted) else."""
        return self.folder / (PUBLIC if self.status == "published" else SEALED)

    @property
    def date(self) -> dt.date | None:
        d = (self.meta.get("event") or {}).get("date_start")
        return d if isinstance(d, dt.date) else None

    def title(self, lang: str = "fr") -> str:
        t = self.meta.get("title") or {}
        return str(t.get(lang) or t.get("fr") or t.get("en") or self.id)

    def admin1(self) -> vocab.Place | None:
        """The gazetteer division of the event, as in force on its date (None if not given)."""
        loc = (self.meta.get("event") or {}).get("location") or {}
        if not loc.get("admin1"):
            return None
        return vocab.place(str(loc.get("country")), str(loc["admin1"]), self.date)

    def admin1_code(self) -> str | None:
        p = self.admin1()
        return p.code if p else None

    def victim_ids(self) -> set[str]:
        return {str(v.get("id")) for v in self.meta.get("victims") or [] if isinstance(v, dict)}


# -- ids --------------------------------------------------------------------------------
def new_id(prefix: str, year: int, seed: bytes, taken: Container[str] = ()) -> str:
    """`PREFIX-YEAR-XXXXXX`: 6 base32 characters of sha256(seed). A submission's hash as seed
    gives the same id in every clone; a random seed makes collisions across clones ~1e-9.
    If the id is taken by another case, the next 6 characters of the digest are used."""
    digest = base64.b32encode(hashlib.sha256(seed).digest()).decode()
    for i in range(0, len(digest) - 6, 6):
        cid = f"{prefix}-{year:04d}-{digest[i:i + 6]}"
        if cid not in taken:
            return cid
    raise CaseError("no free case id for this seed (should never happen)")


def id_problem(case_id: str) -> str:
    """Why `case_id` is not a case id, naming the format and what in it is not allowed."""
    parts = case_id.split("-")
    bad = ""
    if len(parts) == 3 and len(parts[2]) == 6:
        wrong = sorted({ch for ch in parts[2] if ch not in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"})
        if wrong:
            bad = " (" + ", ".join(repr(ch) for ch in wrong) + " not allowed in XXXXXX" + (
                "; ids are in capitals" if any(ch.islower() for ch in wrong) else "") + ")"
    return f"not a case id: {case_id!r}{bad}; expected {ID_FORMAT}"


def case_dir(repo: Path, case_id: str) -> Path:
    if not ID_RE.match(case_id):
        raise CaseError(id_problem(case_id))
    return Path(repo) / CASES / case_id


def parse(text: str, where: str, front: FrontMatterCache | None = None) -> Case:
    """Split and parse a case.md text; raises ValidationError listing every problem.
    `front`: a cache of parsed front matters (the build's)."""
    head, body = _split(text, where)
    meta = front.get(head, where) if front is not None else _front_matter(head, where)
    problems = validate(meta, where)
    if problems:
        raise ValidationError(problems)
    # Exactly what a decision's content hash covers (`curation.canonical`: the narrative
    # stripped): leading whitespace kept here made a forged, re-indented paragraph render
    # as a code block under valid signatures (issue 16, attack round 3).
    return Case(meta=meta, narrative=body.strip())


def _split(text: str, where: str) -> tuple[str, str]:
    """(front matter YAML, body) of a case.md text."""
    if not text.startswith("---\n"):
        raise ValidationError([f"{where}: expected YAML front matter starting with '---'"])
    head, sep, body = text[4:].partition("\n---\n")
    if not sep:
        if text[4:].rstrip().endswith("\n---") or text.rstrip().endswith("---"):
            head, body = text[4:].rstrip()[:-3], ""
        else:
            raise ValidationError([f"{where}: front matter not closed with '---'"])
    return head, body


def stored_file(folder: Path) -> Path | None:
    """A case folder's case.md, else its case.md.asc, else None."""
    for name in (PUBLIC, SEALED):
        if (folder / name).is_file():
            return folder / name
    return None


def read_text(repo: Path, case_id: str, vault: Vault | None = None) -> str:
    """The text of a case's case.md, decrypted in memory when it is sealed."""
    folder = case_dir(repo, case_id)
    path = stored_file(folder)
    where = f"{CASES}/{case_id}/{PUBLIC}"
    if path is None:
        raise CaseError(f"{where}: no such case (see `temoin case list`)")
    if path.name == PUBLIC:
        return path.read_text(encoding="utf-8")
    vault = vault or _vault(repo)
    # Signed by an editor or the intake, checked in the same gpg run (issue 16), with its
    # sealed decisions (`cases.review`).
    items = review.todo([folder])
    wheres = [f"{CASES}/{case_id}/{SEALED}", *(_where(p) for p, _b in items)]
    opened = vault.open_checked_many([path.read_bytes(), *(b for _p, b in items)], wheres,
                                     Path(repo))
    review.take(items, [plain for plain, _why in opened[1:]])
    plain, why = opened[0]
    if plain is None:
        raise CryptoError(why)
    return _decode(plain, where)


def _where(path: Path) -> str:
    """`cases/<ID>/review/<file>` of a sealed decision, for messages."""
    return f"{CASES}/{path.parent.parent.name}/{path.parent.name}/{path.name}"


def _vault(repo: Path) -> Vault:
    from temoin.keys import vault

    return vault.for_repo(Path(repo))


def _decode(data: bytes, where: str) -> str:
    try:
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
        return text.rstrip("\n") + "\n"  # the padding of a sealed file (`temoin.padding`)
    except UnicodeDecodeError as exc:
        raise ValidationError([f"{where}: cannot read as UTF-8 text: {exc}"]) from exc


def load(repo: Path, case_id: str, vault: Vault | None = None) -> Case:
    """One case, from case.md or (unpublished) case.md.asc decrypted in memory."""
    folder = case_dir(repo, case_id)
    path = stored_file(folder)
    if path is None or path.name == PUBLIC:
        return load_file(folder / PUBLIC, repo)
    return _sealed(folder, read_text(repo, case_id, vault), Path(repo))


def _sealed(folder: Path, text: str, repo: Path | None) -> Case:
    where = f"{CASES}/{folder.name}/{SEALED}"
    case = parse(text, where)
    case.folder = folder
    if case.id != folder.name:
        raise ValidationError([f"{where}: id: expected {folder.name} (the folder name), "
                               f"got {case.id!r}"])
    if case.status == "published":
        raise ValidationError([f"{where}: status: published, but a published case is kept "
                               "in plaintext case.md (written by `temoin case publish`)"])
    return case


def load_file(path: Path, repo: Path | None = None, front: FrontMatterCache | None = None,
              files: StatCache | None = None) -> Case:
    """`files` (with `front`): case.md files unchanged since the last build are not read;
    their front matter comes from `front` and their narrative from `files`."""
    where = str(path.relative_to(repo)) if repo else str(path)
    case = _cached(path, where, front, files) if files is not None else None
    if case is None:
        key = None
        try:
            if files is not None and front is not None:
                raw, key = files.read(path)  # as read_text: universal newlines
                text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
            else:
                text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CaseError(f"{where}: no such case (see `temoin case list`)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError([f"{where}: cannot read as UTF-8 text: {exc}"]) from exc
        case = parse(text, where, front)
        if files is not None and front is not None:
            head_key = front.key(_split(text, where)[0])
            if head_key in front.used:  # else the front matter is parsed again each time
                files.put(path, key, [head_key, case.narrative])
    case.folder = path.parent
    if case.id != path.parent.name:
        raise ValidationError([f"{where}: id: expected {path.parent.name} (the folder name), "
                               f"got {case.id!r}"])
    return case


def _cached(path: Path, where: str, front: FrontMatterCache | None,
            files: StatCache) -> Case | None:
    """The case from the caches if its case.md is unchanged (validated again), else None."""
    value, hit = files.get(path)
    if not hit or front is None or not (isinstance(value, list) and len(value) == 2):
        return None
    head_key, narrative = value
    meta = front.lookup(str(head_key))
    if meta is None or not isinstance(narrative, str):
        return None
    problems = validate(meta, where)
    if problems:
        raise ValidationError(problems)
    return Case(meta=meta, narrative=narrative.strip())  # as `parse` (older cache entries)


def load_all(repo: Path, strict: bool = True, cache: bool = False,
             files: StatCache | None = None, vault: Vault | None = None,
             sealed: bool = True) -> tuple[list[Case], list[str]]:
    """Every case under cases/, sorted by id, and every problem found (raise if strict).
    `cache`: reuse and update the front-matter cache (`temoin build`); `files`: the build's
    stat cache, so that unchanged case.md files are not read (needs `cache`). Unpublished
    cases (case.md.asc) are decrypted in memory, all with one gpg process, by `vault`
    (default: GNUPGHOME's keyring); `sealed=False` leaves them out."""
    root = Path(repo) / CASES
    out: list[Case] = []
    problems: list[str] = []
    front = FrontMatterCache(cache_mod.Store.open(repo)) if cache else None
    if files is not None and root.is_dir():  # no glob: the stat cache stats case.md anyway
        with os.scandir(root) as entries:
            folders = sorted(e.name for e in entries if e.is_dir())
        paths = [p for p in (root / name / "case.md" for name in folders) if files.is_file(p)]
    else:
        paths = sorted(root.glob("*/case.md")) if root.is_dir() else []
    for path in paths:
        try:
            out.append(load_file(path, Path(repo), front, files))
        except ValidationError as exc:
            problems.extend(exc.problems)
        except CaseError as exc:
            problems.append(exc.message)
    if front is not None:
        front.save()
    if sealed:
        out += _load_sealed(Path(repo), {p.parent.name for p in paths}, vault, problems,
                            cache)
        out.sort(key=lambda c: c.folder.name)
    if strict and problems:
        raise ValidationError(problems)
    return out, problems


def _load_sealed(repo: Path, public: set[str], vault: Vault | None,
                 problems: list[str], cache: bool = False) -> list[Case]:
    """Every case.md.asc (of folders without a case.md), decrypted with one gpg run
    (`cache`: only those not in `cases.sealed_cache` as they are)."""
    root = repo / CASES
    folders = [p.parent for p in sorted(root.glob(f"*/{SEALED}"))
               if p.parent.name not in public] if root.is_dir() else []
    out = []
    for _folder, case, found in load_sealed(repo, folders, vault, cache):
        problems.extend(found)
        if case is not None:
            out.append(case)
    return out


def load_sealed(repo: Path, folders: Sequence[Path], vault: Vault | None = None,
                cache: bool = False) -> list[tuple[Path, Case | None, list[str]]]:
    """The case.md.asc of each of `folders`, decrypted with one gpg run (by `vault`,
    default GNUPGHOME's keyring) that also checks each one's inner signature (a current
    editor or the intake key of the trust root): each folder with its case, or None and
    the problems (a file not signed so is refused, naming it and the signer found).
    `cache` (the build's): files unchanged since a build that accepted them come from
    `cases.sealed_cache` (encrypted to the editors) instead of gpg."""
    if not folders:
        return []
    vault = vault or _vault(repo)
    # Their sealed decisions are opened in the same gpg run (`cases.review`).
    items = review.todo(folders)
    wheres = [f"{CASES}/{f.name}/{SEALED}" for f in folders]
    names = [*wheres, *(_where(p) for p, _b in items)]
    if cache:
        from temoin.cases import sealed_cache

        opened = sealed_cache.open_checked(
            Path(repo), vault, [*(f / SEALED for f in folders), *(p for p, _b in items)],
            [*(None for _f in folders), *(b for _p, b in items)], names)
    else:
        opened = vault.open_checked_many([*((f / SEALED).read_bytes() for f in folders),
                                          *(b for _p, b in items)], names, Path(repo))
    review.take(items, [plain for plain, _why in opened[len(folders):]])
    opened = opened[:len(folders)]
    out: list[tuple[Path, Case | None, list[str]]] = []
    for folder, where, (plain, problem) in zip(folders, wheres, opened, strict=True):
        if plain is None:
            out.append((folder, None, [problem]))
            continue
        try:
            out.append((folder, _sealed(folder, _decode(plain, where), repo), []))
        except ValidationError as exc:
            out.append((folder, None, list(exc.problems)))
    return out


def _ordered(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: meta[k] for k in FIELD_ORDER if k in meta}


_FRONT_STYLE: dict[str, Any] = {"allow_unicode": True, "sort_keys": False,
                                "default_flow_style": None, "width": 100}
# Characters libyaml and PyYAML's emitter treat alike (printable, no line separator, no BOM,
# within the BMP). Both fold a line only once it is past `width` (100), so output whose
# lines are all shorter was folded by neither.
_PLAIN_TEXT = re.compile(r"[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")
# Neither writes `&id001`/`*id001` for a value used twice: the loader refuses them.
_CDumper: type[yaml.SafeDumper] | None = strict_yaml.NoAliasCDumper


def _emits_alike(value: Any) -> bool:
    """Would libyaml write `value` byte for byte as PyYAML's emitter does? (They differ in
    where they fold long lines, in escapes and in datetime tags.)"""
    if isinstance(value, str):
        return len(value) < 100 and _PLAIN_TEXT.fullmatch(value) is not None
    if isinstance(value, dict):  # an empty key: libyaml writes `'': x`, PyYAML `? ''`
        return all(k != "" and _emits_alike(k) and _emits_alike(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_emits_alike(v) for v in value)
    return value is None or (isinstance(value, bool | int | float | dt.date)
                             and not isinstance(value, dt.datetime))


def dumps(case: Case) -> str:
    """case.md's text. libyaml writes each field of the front matter whose output is provably
    PyYAML's (~5x less CPU); PyYAML's emitter writes the others (`_front`)."""
    head = _front(_ordered(case.meta))
    body = case.narrative.strip("\n")
    return f"---\n{head}---\n\n{body}\n" if body else f"---\n{head}---\n"


def _front(meta: dict[str, Any]) -> str:
    """The front matter as PyYAML's emitter writes it, field by field. The fields of a
    top-level block mapping are written one after the other, each from column 0, its own
    lines indented under it (a sequence's items at column 0 after a dash): what one
    field's lines are does not depend on the others. So libyaml's lines of a field stand
    where they are provably PyYAML's (`_emits_alike`, all under 100 characters: folded by
    neither), and PyYAML writes any other field alone, as the one-field mapping
    {key: value} (block style, as in the whole, since the value is a collection). A scalar
    field libyaml cannot vouch for (a long summary), or lines that do not split into one
    run per field: PyYAML writes the whole."""
    if _CDumper is None:
        return _slow(meta)
    fields: list[list[str]] = []
    for line in yaml.dump(meta, Dumper=_CDumper, **_FRONT_STYLE).splitlines(keepends=True):
        if line[:1] not in (" ", "-", "\n", ""):  # items of a sequence stand at column 0 too
            fields.append([])
        if not fields:
            break
        fields[-1].append(line)
    if len(fields) != len(meta):
        return _slow(meta)
    out = []
    for lines, (key, value) in zip(fields, meta.items(), strict=True):
        if _emits_alike(key) and _emits_alike(value) and all(len(line) < 100 for line in lines):
            out += lines
        elif isinstance(value, dict | list) and value:
            out.append(_slow({key: value}))
        else:
            return _slow(meta)
    return "".join(out)


def _slow(meta: dict[str, Any]) -> str:
    """PyYAML's emitter (pure Python): the front matter's reference form."""
    return str(yaml.dump(meta, Dumper=strict_yaml.NoAliasDumper, **_FRONT_STYLE))


def encoded(repo: Path, case: Case, vault: Vault | None = None) -> tuple[Path, bytes]:
    """The case validated: where `save` writes it and the bytes (sealed unless published)."""
    problems = validate(case.meta, f"{CASES}/{case.id}/case.md")
    if problems:
        raise ValidationError(problems)
    case.folder = case_dir(repo, case.id)
    data, target = dumps(case).encode("utf-8"), case.stored_path
    if target.name == SEALED:
        data = (vault or _vault(repo)).seal(padding.pad_text(data),
                                            f"{CASES}/{case.id}/{SEALED}")
    return target, data


def save(repo: Path, case: Case, after: Sequence[Future[None]] = (),
         vault: Vault | None = None) -> Path:
    """Validate and write the case atomically (once the writes `after` are done: see
    `write_atomic`); returns the path written. A published case is plaintext `case.md`;
    any other is `case.md.asc`, encrypted to the editors by `vault` (default: the
    repository's), so nothing of an unpublished case is readable in the repository. The
    other form is removed once the new one is in place."""
    target, data = encoded(repo, case, vault)
    if target.name == PUBLIC or case.status == "withdrawn" and case.meta.get("published"):
        # Published (or once published): its decisions are public too (`cases.review`).
        review.unseal(case.folder, vault, Path(repo))
    write_atomic(target, data, after=after)
    other = case.folder / (SEALED if target.name == PUBLIC else PUBLIC)
    other.unlink(missing_ok=True)
    return target
