"""Repository-wide commands: init, check, build, serve."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from temoin import cache, scaffold
from temoin.cli.case import acting, editor_option, today
from temoin.cli.common import Context, main, pass_ctx
from temoin.curation import check as validation
from temoin.errors import EXIT_ERROR
from temoin.progress import Progress
from temoin.publish import build as build_mod

if TYPE_CHECKING:
    from temoin.keys import Keyring

F = TypeVar("F", bound=Callable[..., Any])


def _set_no_cache(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """`--no-cache`: TEMOIN_NO_CACHE=1 for this command (restored when it ends)."""
    if not value:
        return
    before = os.environ.get(cache.NO_CACHE)
    os.environ[cache.NO_CACHE] = "1"

    def restore() -> None:
        if before is None:
            os.environ.pop(cache.NO_CACHE, None)
        else:
            os.environ[cache.NO_CACHE] = before
    ctx.call_on_close(restore)


def no_cache_option(f: F) -> F:
    return click.option(
        "--no-cache", is_flag=True, expose_value=False, is_eager=True, callback=_set_no_cache,
        help="Read and write no cache (as TEMOIN_NO_CACHE=1): every check from scratch.")(f)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--organisation", "-o", default="Mon organisation", show_default=True)
@click.option("--country", type=click.Choice(["BI", "CM"], case_sensitive=False), default="BI",
              show_default=True, help="Gazetteer: BI (Burundi) or CM (Cameroon).")
@click.option("--prefix", default=None, help="Case id prefix (default: the country code).")
def init(directory: Path, organisation: str, country: str, prefix: str | None) -> None:
    """Create a new organisation repository in DIRECTORY (French by default)."""
    scaffold.init(directory, organisation, country, prefix)
    click.echo(f"Created {directory}. Next: cd {directory}; export GNUPGHOME=…; "
               "temoin keys generate; temoin keys import EDITOR.asc --as editor (each "
               "editor); temoin trust propose; a second editor: temoin trust sign; "
               "temoin build")


@main.command()
@no_cache_option
@pass_ctx
def check(ctx: Context) -> None:
    """Validate the whole repo: settings, cases, workflow, signatures, custody log; with an
    editor key, the repository-level publication gates too (each skipped one is named)."""
    from temoin.gates import case_files

    problems = validation.run(ctx.repo)
    keyring = _keyring_or_none(ctx)
    if case_files.has_editor_key(ctx.config, keyring):
        assert keyring is not None
        gate = case_files.check(ctx.repo, ctx.config, keyring)
        problems += gate.problems
        for notice in gate.notices:
            click.echo(f"Note: {notice}", err=True)
    else:
        click.echo(f"Skipped: {case_files.NAME} (needs an editor's secret key: set GNUPGHOME "
                   "to the keyring holding it)", err=True)
    for p in problems:
        click.echo(p)
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        raise SystemExit(EXIT_ERROR)
    click.echo("OK: repository is consistent.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.option("--yes", is_flag=True, help="Sign what is listed without asking (it is still "
              "printed, on stderr with --json).")
@click.option("--show", is_flag=True, help="Print the whole text of each private part to be "
              "signed, not only its keys and consent fields.")
@editor_option
@pass_ctx
def migrate(ctx: Context, as_json: bool, yes: bool, show: bool,
            editor_given: str | None) -> None:
    """Seal unpublished cases and custody, give drafts unlinkable ids and evidence keyed
    names, sign the confidential parts written before they were signed and chain the
    decisions (issue 16); says how to rewrite Git history, which still holds the old
    plaintext. What it signs is listed first and signed as the acting editor once you
    confirm: you assert it. Idempotent."""
    from temoin.curation import migrate as migration
    from temoin.curation import resign

    kr = ctx.keyring()
    cfg = ctx.config

    def confirm(editor: str, plan: resign.Plan) -> bool:
        echo = (lambda text: click.echo(text, err=True)) if as_json else click.echo
        echo(f"To sign as {cfg.editor_name(editor)} ({editor}):")
        for lines in plan.shown:
            echo("  " + lines[0])
            for line in lines[1:]:
                echo("      " + line)
        for work, text in zip(plan.work, plan.texts, strict=True) if show else ():
            echo(f"--- cases/{work.new_id}/private.yaml.asc, as it will be signed:")
            echo(text.rstrip("\n"))
        if yes:
            return True
        if as_json:
            raise click.UsageError("--json signs nothing without --yes (nothing was changed)")
        return click.confirm("Sign these as yours?", default=False)

    report = migration.migrate(ctx.repo, cfg, kr, lambda: acting(ctx, editor_given, kr),
                               confirm, today())
    click.echo(migration.as_json(report) if as_json else migration.summary(report))
    if as_json and report.changed:
        click.echo(migration.HISTORY, err=True)


def _keyring_or_none(ctx: Context) -> Keyring | None:
    """The editor keyring when GNUPGHOME is set, else None (the build says if it needs one)."""
    return ctx.keyring() if ctx.gnupghome else None


@main.command()
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write the site (default: REPO/site).")
@click.option("--allow-unpublished", is_flag=True,
              help="Build even if a case marked published fails the gate (it is left out).")
@no_cache_option
@pass_ctx
def build(ctx: Context, site_dir: Path | None, allow_unpublished: bool) -> None:
    """Build the public site, run every publication gate, sign the manifest.

    A case marked published that fails the gate stops the build (exit 4) unless
    --allow-unpublished: then it is left out of the site and the build goes on.
    Nothing is built while a file of site_src/ differs from the signed trust root's record."""
    from temoin import trust

    # Settings first: a changed template override is refused by its own rule, which no
    # co-signature lifts, rather than as a site change the editors could record and sign.
    cfg = ctx.config
    trust.require_site(ctx.repo, ctx.require_trust())
    report = build_mod.build(ctx.repo, cfg, site_dir, _keyring_or_none(ctx),
                             allow_unpublished=allow_unpublished,
                             progress=Progress.for_cli())
    for notice in report.notices:
        click.echo(f"Note: {notice}", err=True)
    click.echo(f"Built {report.site_dir}: {report.published} case page(s), "
               f"{report.aggregate} aggregate-only, {len(report.refused)} not published; "
               f"{report.publication}.")
    if not report.signed:
        click.echo("Warning: SHA256SUMS is not signed (inbox secret key not in GNUPGHOME).",
                   err=True)
    click.echo(f"Open {report.site_dir / 'index.html'} or run `temoin serve`.")


@main.command()
@click.option("--dev-addr", default="127.0.0.1:8000", show_default=True)
@no_cache_option
@pass_ctx
def serve(ctx: Context, dev_addr: str) -> None:
    """Local preview with live reload: published cases only, as in the real build.
    After an edit only the pages it changed are rebuilt (site/preview.py)."""
    from temoin.site import preview

    ctx.config  # validate settings before starting  # noqa: B018
    preview.serve(ctx.repo, dev_addr, echo=click.echo)
