"""Changing Témoin's settings in mkdocs.yml without losing the editors' comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from temoin.config import CONFIG_FILE, load, read_mkdocs_yml
from temoin.errors import ConfigError
from temoin.files import write_atomic


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 100
    return y


def update(repo: Path, change: Any) -> None:
    """Apply `change(options)` to the temoin plugin options, keep comments, re-validate."""
    path = Path(repo) / CONFIG_FILE
    read_mkdocs_yml(path)  # the strict reading first: no tag, anchor or alias
    y = _yaml()
    doc = y.load(path.read_text(encoding="utf-8"))
    plugins = doc.get("plugins") or []
    opts = None
    for entry in plugins:
        if isinstance(entry, dict) and "temoin" in entry:
            if entry["temoin"] is None:
                entry["temoin"] = {}
            opts = entry["temoin"]
    if opts is None:
        raise ConfigError(f"{path}: no `- temoin:` entry under plugins")
    change(opts)
    import io

    buf = io.StringIO()
    y.dump(doc, buf)
    old = path.read_bytes()
    write_atomic(path, buf.getvalue().encode("utf-8"))
    try:
        load(repo)
    except ConfigError:
        write_atomic(path, old)
        raise
