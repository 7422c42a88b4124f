"""`temoin export --format csv|json [-o FILE]`: the site's open data, from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from temoin import curation
from temoin.cli.common import Context, pass_ctx
from temoin.files import write_atomic
from temoin.site import generate, opendata


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="CSV (RFC 4180, UTF-8) or JSON (schema + records).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to FILE instead of standard output.")
@pass_ctx
def export(ctx: Context, fmt: str, output: Path | None) -> None:
    """Open data: one row per victim and act type, public fields only.

    Only cases that pass the publication gate (signatures checked against keys/editors/)
    and aggregate-only cases (without any reference) are exported: the same bytes as the
    site's data/cases.csv and data/cases.json.
    """
    with curation.CachedVerifier(ctx.repo) as verify:
        inp = generate.collect(ctx.repo, ctx.config, verify)
    data = opendata.export(inp.published, inp.aggregate, ctx.config, fmt)
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
        return
    write_atomic(output, data, mode=0o644)
    click.echo(f"Wrote {output}: {len(inp.published)} published and {len(inp.aggregate)} "
               "aggregate-only case(s).", err=True)
