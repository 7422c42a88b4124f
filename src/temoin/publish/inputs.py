"""What `temoin build` reads from the repository, checked before MkDocs runs.

MkDocs copies every file of `docs_dir` (and the theme's `custom_dir`) into the site,
following symbolic links: one committed as `site_src/k.txt -> ~/.gnupg/private-keys-v1.d/…`
publishes the inbox secret key, `-> /proc/self/environ` the build's environment. Git stores
a symlink as such and any clone recreates it, so the repository cannot be trusted to hold
only files. The rule, applied to every input before anything is read or copied:

* no symbolic link, anywhere under `mkdocs.yml`, `docs_dir` (site_src), `custom_dir`
  (overrides), `cases/` (case files, decisions, private parts, evidence, media) and `keys/`,
  nor as one of those paths itself: a link inside the repository is refused too (it could
  name `inbox/processed/` or the cache), and there is no use for one;
* no special file (FIFO, socket, device): reading a FIFO blocks the build, a device reads
  whatever the machine holds;
* no hard link (`st_nlink > 1`) among the files copied as they are (`docs_dir`,
  `custom_dir`): Git never makes one, so a second name for a site file means someone on
  this machine linked it, possibly to a file outside the repository that we cannot see.
  Case folders are not held to this (the generator re-encodes media and parses the rest;
  the benchmarks share case files between repositories by hard links);
* `docs_dir`, `custom_dir` and `INHERIT` name folders inside the repository;
* the YAML front matter of every page under `docs_dir` follows `strict_yaml` (no anchors,
  aliases or tags), as case files do.

Each problem names the path and the rule. The publication gates check the output again
(`gates.filetypes`): this check keeps a secret from being copied at all, the gate keeps
anything but allowed files from shipping.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from temoin import strict_yaml
from temoin.config import read_mkdocs_yml
from temoin.errors import GateError

CASES = "cases"
KEYS = "keys"
# MkDocs' own front-matter rule (mkdocs.utils.meta.YAML_RE), applied to the text as MkDocs
# reads it: the whole file, UTF-8 with a BOM dropped, universal newlines. Reading it any
# other way (the first MiB, bytes with `\r` kept, a BOM kept) let a page whose front matter
# MkDocs parses pass this check unread: an alias bomb under `title:` hung the build.
_FRONT = re.compile(r"^-{3}[ \t]*\n(.*?\n)(?:\.{3}|-{3})[ \t]*\n", re.UNICODE | re.DOTALL)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link (the build would copy what it points to, anywhere on this " \
               "machine): replace it with the file itself"
    if stat.S_ISFIFO(mode):
        return "a FIFO (special file): remove it"
    if stat.S_ISSOCK(mode):
        return "a socket (special file): remove it"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device (special file): remove it"
    return "not a regular file or folder: remove it"


def _named(repo: Path, value: object, what: str, problems: list[str]) -> Path | None:
    """The folder a mkdocs.yml setting names, if it stays inside the repository."""
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        problems.append(f"mkdocs.yml: {what}: expected a folder inside the repository, got "
                        f"{value!r}")
        return None
    return repo / path


def roots(repo: Path, problems: list[str]) -> list[tuple[Path, bool]]:
    """(folder, copied as is) for every input folder mkdocs.yml and Témoin read."""
    cfg = read_mkdocs_yml(repo / "mkdocs.yml")
    out: list[tuple[Path, bool]] = []
    docs = _named(repo, cfg.get("docs_dir", "docs"), "docs_dir", problems)
    if docs is not None:
        out.append((docs, True))
    theme = cfg.get("theme")
    if isinstance(theme, dict):
        custom = _named(repo, theme.get("custom_dir"), "theme.custom_dir", problems)
        if custom is not None:
            out.append((custom, True))
    inherit = cfg.get("INHERIT")
    if inherit is not None:
        parent = _named(repo, inherit, "INHERIT", problems)
        if parent is not None:
            _entry(repo, parent, problems)
    out += [(repo / CASES, False), (repo / KEYS, False)]
    return out


def _entry(repo: Path, path: Path, problems: list[str]) -> os.stat_result | None:
    """lstat of `path` and of each folder between the repository and it; a link or
    special file among them is a problem."""
    rel = path.relative_to(repo)
    here = repo
    for part in rel.parts:
        here = here / part
        try:
            st = here.lstat()
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(st.st_mode) or not (stat.S_ISDIR(st.st_mode)
                                            or stat.S_ISREG(st.st_mode)):
            problems.append(f"{here.relative_to(repo).as_posix()}: {_kind(st.st_mode)}")
            return None
    return st


def _walk(repo: Path, folder: Path, copied: bool, problems: list[str]) -> None:
    """Every entry under `folder` (not following links); `os.scandir` knows a file from a
    folder or a link without a stat call, so 100,000 case files cost ~0.1 s."""
    try:
        entries = list(os.scandir(folder))
    except NotADirectoryError:
        return
    for e in sorted(entries, key=lambda e: e.name):
        rel = Path(e.path).relative_to(repo).as_posix()
        if e.is_symlink():
            problems.append(f"{rel}: {_kind(stat.S_IFLNK)}")
        elif e.is_dir(follow_symlinks=False):
            _walk(repo, Path(e.path), copied, problems)
        elif not e.is_file(follow_symlinks=False):
            problems.append(f"{rel}: {_kind(e.stat(follow_symlinks=False).st_mode)}")
        elif copied:
            st = e.stat(follow_symlinks=False)
            if st.st_nlink > 1:
                problems.append(f"{rel}: a hard link ({st.st_nlink} names for one file; "
                                "it may be a file outside the repository): copy the file "
                                "instead (cp --remove-destination)")
            elif e.name.endswith(".md"):
                _front_matter(Path(e.path), rel, problems)


def _front_matter(path: Path, rel: str, problems: list[str]) -> None:
    try:
        with path.open(encoding="utf-8-sig", errors="strict") as f:  # as MkDocs reads it
            text = f.read()
    except UnicodeDecodeError as exc:
        problems.append(f"{rel}: not UTF-8 (byte {exc.start}): save it as UTF-8")
        return
    m = _FRONT.match(text)
    if m:
        problems += [f"{rel}: front matter {p}" for p in strict_yaml.problems(m[1], 2)]


def problems(repo: Path) -> list[str]:
    """Every input of the build that is not a plain file or folder of the repository."""
    repo = Path(repo)
    found: list[str] = []
    st = _entry(repo, repo / "mkdocs.yml", found)
    if st is not None and st.st_nlink > 1:
        found.append("mkdocs.yml: a hard link: copy the file instead")
    if found:  # never read a mkdocs.yml that is a link
        return found
    for folder, copied in roots(repo, found):
        if _entry(repo, folder, found) is not None:
            _walk(repo, folder, copied, found)
    return sorted(set(found))


def check(repo: Path) -> None:
    """Raise GateError (exit 4) listing every refused input."""
    found = problems(repo)
    if found:
        raise GateError([f"[input] {p}" for p in found],
                        "build inputs refused (nothing was read or copied)")
