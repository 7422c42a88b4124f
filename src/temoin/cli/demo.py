"""`temoin demo [DIR]`: the whole path end to end on throwaway keys."""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import click

from temoin.cli.common import main


@click.command("demo")
@click.argument("directory", required=False,
                type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path | None) -> None:
    """Run the whole pipeline on fictional testimonies: keys, encrypted inbox, ingest,
    curation by two editors, build. DIRECTORY defaults to a new temporary folder."""
    from temoin import demo as demo_mod

    target = directory or Path(tempfile.mkdtemp(prefix="temoin-demo-"))

    def cli(args: list[str]) -> None:
        click.echo(f"   $ temoin {shown(args)}")
        main.main(args, standalone_mode=False)

    site = demo_mod.run(target, lambda s: click.secho(s, bold=True), cli)
    click.secho(f"Demo done: open {site}/index.html (or: cd {site} && python3 -m http.server)",
                bold=True)


def shown(args: list[str]) -> str:
    """The command as an editor would type it: without the throwaway `--repo DIR` and
    `--gnupghome DIR` (set once in the environment in real life), each word quoted."""
    words: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
        elif a in ("--repo", "--gnupghome"):
            skip = True
        elif not a.startswith(("--repo=", "--gnupghome=")):
            words.append(shlex.quote(a))
    return " ".join(words)
