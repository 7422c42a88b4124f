"""Changing Témoin's settings in mkdocs.yml without losing the editors' comments."""

from __future__ import annotations

import io
from collections.abc import Callable
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


def plugin_block(doc: Any, path: Path) -> Any:
    """The `temoin` plugin's options in a ruamel document of mkdocs.yml (made a mapping)."""
    for entry in doc.get("plugins") or []:
        if isinstance(entry, dict) and "temoin" in entry:
            if entry["temoin"] is None:
                entry["temoin"] = {}
            return entry["temoin"]
    raise ConfigError(f"{path}: no `- temoin:` entry under plugins")


def edit(repo: Path, change: Callable[[Any], None]) -> None:
    """Apply `change(document)` to the whole of mkdocs.yml (site_name, theme, nav…), keep
    comments, then re-validate (and restore the file when the result does not load)."""
    path = Path(repo) / CONFIG_FILE
    read_mkdocs_yml(path)  # the strict reading first: no tag, anchor or alias
    y = _yaml()
    doc = y.load(path.read_text(encoding="utf-8"))
    change(doc)
    buf = io.StringIO()
    y.dump(doc, buf)
    old = path.read_bytes()
    write_atomic(path, buf.getvalue().encode("utf-8"))
    try:
        load(repo)
    except ConfigError:
        write_atomic(path, old)
        raise


def update(repo: Path, change: Any) -> None:
    """Apply `change(options)` to the temoin plugin options, keep comments, re-validate."""
    path = Path(repo) / CONFIG_FILE
    edit(repo, lambda doc: change(plugin_block(doc, path)))
