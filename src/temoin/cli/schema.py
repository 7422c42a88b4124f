"""`temoin schema`: the case fields table, as the Markdown of docs/cases.md or as JSON."""

from __future__ import annotations

import dataclasses
import json

import click

from temoin.cases import guide, schema


@click.command("schema")
@click.option("--markdown", "fmt", flag_value="markdown", default=True,
              help="docs/cases.md: every field and allowed value (default).")
@click.option("--json", "fmt", flag_value="json", help="The field table as JSON.")
def schema_command(fmt: str) -> None:
    """Print every case field (public and private) with its allowed values.

    `temoin schema --markdown > docs/cases.md` regenerates the documentation."""
    if fmt == "json":
        click.echo(json.dumps([dataclasses.asdict(f) for f in schema.FIELDS],
                              ensure_ascii=False, indent=1, default=str))
        return
    click.echo(guide.markdown(), nl=False)
