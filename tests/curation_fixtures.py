"""A scripted $EDITOR for curation tests, and CLI helpers.

The editor is a real program run by `temoin case edit` (a small Python script): each time it
runs it applies the next round of a plan to the files it was given and appends what it saw
(paths, modes, the `#!temoin` problem lines) to a JSON-lines log. It never copies the
plaintext anywhere, so a test can grep the disk for a canary afterwards.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from temoin.cli import main

EDITOR_SCRIPT = r'''
import json, os, stat, sys, time
plan = json.load(open(os.environ["EDIT_PLAN"], encoding="utf-8"))
log_path = os.environ["EDIT_LOG"]
n = sum(1 for _ in open(log_path)) if os.path.exists(log_path) else 0
rnd = plan[min(n, len(plan) - 1)] if plan else {}
entry = {"round": n, "files": [], "marks": {}}
for arg in sys.argv[1:]:
    if arg.startswith("-"):
        continue
    name = os.path.basename(arg)
    folder = os.path.dirname(arg)
    entry["files"].append({"path": arg, "mode": stat.S_IMODE(os.stat(arg).st_mode)})
    entry["dir"], entry["dir_mode"] = folder, stat.S_IMODE(os.stat(folder).st_mode)
    with open(arg, encoding="utf-8") as f:
        text = f.read()
    entry["marks"][name] = [ln for ln in text.splitlines() if ln.startswith("#!temoin")]
    spec = rnd.get(name)
    if spec:
        if "write" in spec:
            text = spec["write"]
        for old, new in spec.get("replace", []):
            if old not in text:
                sys.exit(f"scripted editor: {old!r} not found in {name}")
            text = text.replace(old, new)
        text += spec.get("append", "")
        with open(arg, "w", encoding="utf-8") as f:
            f.write(text)
with open(log_path, "a", encoding="utf-8") as f:
    f.write(json.dumps(entry) + "\n")
if rnd.get("sleep"):
    time.sleep(rnd["sleep"])
'''


@dataclass
class ScriptedEditor:
    """Set as $EDITOR: `plan(rounds)` says what each run does; `log()` is what it saw."""

    plan_path: Path
    log_path: Path
    command: str

    def plan(self, *rounds: dict[str, Any]) -> None:
        self.plan_path.write_text(json.dumps(list(rounds)), encoding="utf-8")
        self.log_path.unlink(missing_ok=True)

    def log(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        return [json.loads(x) for x in self.log_path.read_text().splitlines() if x.strip()]


@pytest.fixture
def scripted_editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScriptedEditor:
    """A real program as $EDITOR that rewrites the files it is given, round by round."""
    script = tmp_path / "editor.py"
    script.write_text(EDITOR_SCRIPT, encoding="utf-8")
    ed = ScriptedEditor(tmp_path / "plan.json", tmp_path / "editor-log.jsonl",
                        f"{sys.executable} {script}")
    ed.plan()
    monkeypatch.setenv("EDITOR", ed.command)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDIT_PLAN", str(ed.plan_path))
    monkeypatch.setenv("EDIT_LOG", str(ed.log_path))
    return ed


def cli(repo: Path, *args: str, editor: str | None = None) -> Result:
    """Run `temoin --repo REPO ARGS…` (with `--editor` when given) in-process."""
    extra = ["--editor", editor] if editor else []
    return CliRunner().invoke(main, ["--repo", str(repo), *args, *extra])


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


ID_IN = re.compile(r"\b[A-Z]{2,6}-\d{4}-[A-Z2-7]{6}\b")


def grep_tree(root: Path, needle: bytes) -> list[str]:
    """Every file under `root` whose bytes contain `needle`. A folder or file that vanishes
    meanwhile is skipped: /dev/shm is shared with every other process of the machine (a
    throwaway keyring deleted mid-walk made Path.rglob raise)."""
    hits = []
    for folder, _dirs, names in os.walk(root):  # os.walk ignores folders that vanish
        for name in names:
            p = Path(folder, name)
            try:
                if p.is_file() and not p.is_symlink() and needle in p.read_bytes():
                    hits.append(str(p))
            except OSError:
                continue
    return hits
