"""`temoin case …`: listing and showing cases (curation commands join this group)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from .. import cases as cases_mod
from .. import vocab
from . import Context, main, pass_ctx


def to_json(value: Any) -> Any:
    """Front matter values as JSON-ready data (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def public_json(case: cases_mod.Case, repo: Any) -> dict[str, Any]:
    data = to_json(case.meta)
    data["path"] = str(case.path.relative_to(repo))
    return data


@main.group()
def case() -> None:
    """List, show and curate cases."""


@case.command("list")
@click.option("--status", type=click.Choice(list(vocab.terms("status"))), multiple=True,
              help="Only cases in this state (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def list_cases(ctx: Context, status: tuple[str, ...], as_json: bool) -> None:
    """List cases, newest event first."""
    all_cases, problems = cases_mod.load_all(ctx.repo, strict=False)
    chosen = [c for c in all_cases if not status or c.status in status]
    chosen.sort(key=lambda c: ((c.date or dt.date.min).isoformat(), c.id), reverse=True)
    if as_json:
        click.echo(json.dumps([public_json(c, ctx.repo) for c in chosen], ensure_ascii=False,
                              indent=1))
        return
    for c in chosen:
        date = c.date.isoformat() if c.date else "????-??-??"
        click.echo(f"{c.id}  {date}  {c.status:<9} {c.meta.get('verification', ''):<9} "
                   f"{c.title()}")
    click.echo(f"{len(chosen)} case(s).", err=True)
    for p in problems:
        click.echo(f"warning: {p}", err=True)


@case.command("show")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@click.option("--private", is_flag=True,
              help="Also decrypt the confidential part (to the terminal only).")
@pass_ctx
def show(ctx: Context, case_id: str, as_json: bool, private: bool) -> None:
    """Show one case's public part (and, with --private, its confidential part)."""
    c = cases_mod.load(ctx.repo, case_id)
    data = public_json(c, ctx.repo)
    data["narrative"] = c.narrative
    if private:
        data["private"] = to_json(cases_mod.read_private(ctx.repo, case_id, ctx.keyring()))
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(cases_mod.dumps(c))
    if private:
        import yaml

        click.echo("--- private (decrypted, not written to disk) ---")
        click.echo(yaml.safe_dump(data["private"], allow_unicode=True, sort_keys=False))
