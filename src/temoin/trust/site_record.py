"""The site's own files in the trust root: their recorded hashes, and the refusal when
they differ (issue 20)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from temoin.trust.statements import (
    FOLDER,
    Root,
    TrustError,
    sha256_hex,
)

SITE_FILES = "site_files"


def site_folders(repo: Path) -> list[str]:
    """The folders (relative to the repository) whose files define the site: docs_dir
    and the theme's custom_dir, as mkdocs.yml names them (read with the safe loader)."""
    from temoin import config as config_mod

    mk = config_mod.read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)
    theme = mk.get("theme") if isinstance(mk.get("theme"), dict) else {}
    found = [str(mk.get("docs_dir") or "docs"), str((theme or {}).get("custom_dir") or "")]
    out: list[str] = []
    for f in found:
        norm = Path(f).as_posix().strip("/")
        if not f or Path(f).is_absolute() or ".." in Path(f).parts:
            continue  # outside the repository: the build's input check refuses it
        if norm not in out and not any(norm.startswith(o + "/") for o in out):
            out.append(norm)
    return out


# The plugin options the trust root states itself: mkdocs.yml only proposes them, so their
# copies there reach no page (a change waiting for its second signature stops no build).
ROOT_STATED = ("organisation", "recipients", "partners", "inbox_key", "site_key",
               "contact_email", "publish_min_level", "location_precision", "page_consents")
SETTINGS_FILE = "mkdocs.yml"


def settings_digest(repo: Path) -> str:
    """What of mkdocs.yml reaches the site, as one hash: its settings as read (comments and
    layout do not count) without the options the trust root states itself. The site's
    name, navigation, theme, extensions and Témoin's other options are words and choices
    on every page, so they are signed like the pages themselves."""
    from temoin import config as config_mod
    from temoin.errors import TemoinError

    try:
        mk = config_mod.read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)
    except TemoinError as exc:
        return "unreadable: " + sha256_hex(str(exc).encode())
    plugins = mk.get("plugins")
    entries = plugins.items() if isinstance(plugins, dict) else (
        item for entry in plugins if isinstance(entry, dict) for item in entry.items()) \
        if isinstance(plugins, list) else ()
    for name, options in entries:
        if name == "temoin" and isinstance(options, dict):
            for key in ROOT_STATED:
                options.pop(key, None)
    text = json.dumps(mk, sort_keys=True, ensure_ascii=False, default=str)
    return "settings:" + sha256_hex(text.encode("utf-8"))


def site_files(repo: Path) -> dict[str, str]:
    """sha256 of every file under the site-defining folders, by repository-relative POSIX
    path, and of mkdocs.yml's settings (`settings_digest`). Links and special files are
    never followed or read (one could point at a device or a secret): they are recorded as
    such, and the build's input check refuses them."""
    repo = Path(repo)
    out: dict[str, str] = {SETTINGS_FILE: settings_digest(repo)}
    for folder_name in site_folders(repo):
        base = repo / folder_name
        if base.is_symlink() or not base.is_dir():
            continue
        for root, dirs, names in os.walk(base, followlinks=False):
            for name in sorted([*dirs, *names]):
                p = Path(root) / name
                rel = p.relative_to(repo).as_posix()
                if p.is_symlink():
                    out[rel] = "symlink:" + os.readlink(p)
                elif p.is_file():
                    out[rel] = sha256_hex(p.read_bytes())
                elif not p.is_dir():
                    out[rel] = "special file"
    return dict(sorted(out.items()))


def site_changes(repo: Path, root: Root) -> list[str]:
    """Each site-defining file that differs from the signed record, named (empty: none)."""
    recorded = root.payload.get(SITE_FILES)
    where = f"{FOLDER}/{root.serial:04d}.json"
    if not isinstance(recorded, dict):
        return [f"{where}: the signed trust root records no hash of {', '.join(site_folders(repo))}"
                f" and {SETTINGS_FILE} (it was signed before the site's own files were part of "
                "it)"]
    now = site_files(repo)
    out = []
    for path in sorted(set(recorded) | set(now)):
        if path not in now:
            out.append(f"{path}: removed since the signed trust root ({where}) recorded it")
        elif path not in recorded:
            out.append(f"{path}: added, not in the signed trust root's record ({where})")
        elif recorded[path] != now[path]:
            out.append(f"{path}: changed since the signed trust root ({where}) recorded it")
    return out


RESIGN = ("if the change is the editors' own, record it in the trust root: `temoin trust "
          "propose`, then a second editor reads `git diff` and runs `temoin trust sign`; if "
          "nobody made it, restore the files (`git checkout -- site_src mkdocs.yml`) and find "
          "out who did")


def require_site(repo: Path, root: Root) -> None:
    """Refuse (TrustError, exit 3) when a site-defining file differs from the signed record:
    a planted script or template override never reaches a build."""
    changes = site_changes(repo, root)
    if changes:
        raise TrustError("the site's own files differ from what the editors signed:\n"
                         + "\n".join(f"  - {c}" for c in changes) + "\nNothing was built: "
                         + RESIGN)
