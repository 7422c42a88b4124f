"""Start-up of the command line: `temoin` knows its commands by a static table and imports a
command's module only when that command runs, so `temoin case list` does not pay for MkDocs,
the gates and PIL; yet every command is listed, imports, and a missing one fails loudly."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from temoin.cli import main
from temoin.cli.common import Lazy, LazyGroup
from tests.conftest import REPO_ROOT
from tests.helpers import Org

CLI = REPO_ROOT / "src" / "temoin" / "cli"
WIDE = 10_000  # a help width at which nothing is shortened


def tables(group: LazyGroup, path: str = "temoin") -> Iterator[tuple[str, str, Lazy]]:
    """Every (group path, command name, table entry), loading each to find nested groups."""
    for name, entry in sorted(group.table.items()):
        yield path, name, entry
        cmd = entry.load()
        if isinstance(cmd, LazyGroup):
            yield from tables(cmd, f"{path} {name}")


def reachable(group: click.Group) -> Iterator[click.Command]:
    for name in group.list_commands(click.Context(group)):
        cmd = group.get_command(click.Context(group), name)
        assert cmd is not None, name
        yield cmd
        if isinstance(cmd, click.Group):
            yield from reachable(cmd)


def test_help_lists_every_command_of_the_table_and_each_imports() -> None:
    assert isinstance(main, LazyGroup)
    seen = 0
    for path, name, entry in tables(main):
        cmd = entry.load()  # a missing or broken module raises here
        assert cmd.name == name, (path, name, entry)
        # the summary `--help` shows without importing is the command's own first sentence
        assert click.Command(name, help=entry.summary).get_short_help_str(WIDE) \
            == cmd.get_short_help_str(WIDE), (path, name)
        words = path.split()[1:]
        out = CliRunner().invoke(main, [*words, "--help"], terminal_width=200)
        assert out.exit_code == 0, out.output
        listed = out.output.split("Commands:\n", 1)[1]
        assert f"  {name} " in listed, (path, name, listed)
        seen += 1
    assert seen == len(main.table) + 1  # and `case intervene`


def test_every_command_defined_in_temoin_cli_is_reachable_from_main() -> None:
    """A command defined in a cli module but missing from the table would be silently gone
    (no `@main.command` registers it any more)."""
    found = {id(cmd) for cmd in reachable(main)}
    lost = []
    for path in sorted(CLI.glob("*.py")):
        module = importlib.import_module(f"temoin.cli.{path.stem}")
        for attr, value in vars(module).items():
            if isinstance(value, click.Command) and value is not main and id(value) not in found:
                lost.append(f"{path.stem}.{attr}")
    assert lost == []


def test_a_missing_command_module_fails_loudly_when_its_command_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "temoin.cli.status", None)  # as if the file were gone
    listed = CliRunner().invoke(main, ["--help"])
    assert listed.exit_code == 0 and "  status " in listed.output, listed.output
    result = CliRunner().invoke(main, ["status"])
    assert isinstance(result.exception, ImportError), result.output
    assert "temoin.cli.status" in str(result.exception)
    ran = CliRunner().invoke(main, ["schema"])  # the others still run
    assert ran.exit_code == 0, ran.output


def test_a_mistyped_command_is_refused_with_the_nearest_one() -> None:
    result = CliRunner().invoke(main, ["stauts"])
    assert result.exit_code == 2
    assert "No such command 'stauts'. Did you mean 'status'?" in result.output


# The site builder and what only the build, the gates and the dossiers need. (Short commands
# do load gnupg, pysequoia and YAML: they verify the trust root and read the settings.)
HEAVY = ["mkdocs", "material", "selectolax", "fpdf", "PIL", "jinja2", "markdown", "nh3",
         "temoin.gates", "temoin.site", "temoin.publish", "temoin.share"]

PROBE = """
import json, sys
from temoin.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def loaded(*args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] in (0, 1, None), done.stdout + done.stderr  # doctor: 1, not ready
    return list(report["modules"])


def heavy(modules: list[str], also: tuple[str, ...] = ()) -> list[str]:
    names = {*HEAVY, *also}
    return [m for m in modules if m.split(".")[0] in names or ".".join(m.split(".")[:2]) in names]


def test_help_imports_no_command_module() -> None:
    modules = loaded("--help")
    assert [m for m in modules if m.startswith("temoin.cli.") and m != "temoin.cli.common"] == []
    assert heavy(modules, also=("gnupg", "pysequoia", "yaml", "temoin.keys")) == []


@pytest.mark.parametrize("args", [["status"], ["case", "list"], ["case", "show", "{id}"],
                                  ["doctor", "--json"], ["init", "{tmp}/sos", "-o", "SOS"]],
                         ids=" ".join)
def test_a_short_command_does_not_import_the_site_builder(org: Org, tmp_path: Path,
                                                          args: list[str]) -> None:
    """What editors run all day starts without MkDocs, Material, the gates or PIL."""
    case = org.add_case()
    modules = loaded("--repo", str(org.repo),
                     *[a.format(id=case.id, tmp=tmp_path) for a in args])
    assert heavy(modules) == []
