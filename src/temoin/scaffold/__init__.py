"""`temoin init DIR`: a new organisation repository (DESIGN §2) that builds at once."""

from __future__ import annotations

import json
import re
import subprocess
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from temoin.errors import RepoError

FOLDERS = ("cases", "keys/editors", "keys/partners", "inbox/quarantine", "inbox/processed",
           "site_src/bulletins", "scripts")


def _walk(node: Traversable, rel: str = "") -> list[tuple[str, Traversable]]:
    out = []
    for child in sorted(node.iterdir(), key=lambda n: n.name):
        path = f"{rel}{child.name}"
        if child.is_dir():
            out += _walk(child, path + "/")
        else:
            out.append((path, child))
    return out


def init(target: Path, organisation: str, country: str = "BI", prefix: str | None = None,
         git: bool = True) -> list[str]:
    """Create the repo at `target` (must be empty or absent); return the files written."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise RepoError(f"{target} is not empty: choose a new folder")
    country = country.upper()
    prefix = (prefix or country).upper()
    if not re.fullmatch(r"[A-Z]{2,6}", prefix):
        raise RepoError(f"case prefix: expected 2-6 capital letters, got {prefix!r}")
    if not organisation.strip() or any(ord(ch) < 32 for ch in organisation):
        raise RepoError("organisation: expected a name on one line")
    written = []
    root = resources.files("temoin").joinpath("data", "scaffold")
    for rel, node in _walk(root):
        text = node.read_text(encoding="utf-8")
        quoted = json.dumps(organisation, ensure_ascii=False)
        if rel == "mkdocs.yml":
            text = text.replace("{organisation}", quoted)
        else:
            text = text.replace("{organisation}", organisation)
        text = text.replace("{country}", country).replace("{prefix}", prefix)
        dest = target / (".gitignore" if rel == "gitignore" else rel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text, encoding="utf-8")
        written.append(str(dest.relative_to(target)))
    for folder in FOLDERS:
        (target / folder).mkdir(parents=True, exist_ok=True)
    (target / "custody.jsonl").touch()
    if git and not (target / ".git").exists():
        subprocess.run(["git", "init", "-q", str(target)], check=False, capture_output=True)
    return written
