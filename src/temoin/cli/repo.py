"""Repository-wide commands: init, check, build, serve."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from temoin import cache, curation, scaffold
from temoin import config as config_mod
from temoin.cli.case import acting, editor_option, today
from temoin.cli.common import Context, pass_ctx
from temoin.curation import check as validation
from temoin.errors import EXIT_ERROR, ConfigError
from temoin.progress import Progress
from temoin.scaffold import languages as languages_mod

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


def _asked(cctx: click.Context, name: str) -> bool:
    """Whether `name` is to be asked: not given on the command line, and a terminal to ask."""
    return cctx.get_parameter_source(name) == ParameterSource.DEFAULT and sys.stdin.isatty()


def _address(value: str) -> str:
    value = value.strip()
    if value and not config_mod.is_email(value):
        raise click.BadParameter(f"expected an e-mail address (name@example.org), got "
                                 f"{value!r}", param_hint="--contact")
    return value


def _languages(value: str) -> tuple[str, ...]:
    try:
        return languages_mod.parse(value)
    except ConfigError as exc:
        raise click.BadParameter(exc.message, param_hint="--languages") from None


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--organisation", "-o", default="Mon organisation", show_default=True)
@click.option("--contact", default="", metavar="ADDRESS",
              help="The e-mail address sources write to (it goes into the inbox key too).")
@click.option("--languages", default="fr,en", show_default=True,
              help="The site's languages, its default first: fr, en, fr,en or en,fr.")
@click.option("--country", type=click.Choice(["BI", "CM"], case_sensitive=False), default="BI",
              show_default=True, help="Gazetteer: BI (Burundi) or CM (Cameroon).")
@click.option("--prefix", default=None, help="Case id prefix (default: the country code).")
@click.pass_context
def init(cctx: click.Context, directory: Path, organisation: str, contact: str,
         languages: str, country: str, prefix: str | None) -> None:
    """Create a new organisation repository in DIRECTORY.

    On a terminal, asks for what the options did not give (organisation, contact address,
    languages, country); elsewhere takes the options as they are. An invalid address is
    refused."""
    if _asked(cctx, "organisation"):
        organisation = click.prompt("Organisation name", default=organisation)
    if _asked(cctx, "contact"):
        contact = click.prompt("Contact address sources write to (e-mail)",
                               value_proc=_address)
    if _asked(cctx, "languages"):
        languages = ",".join(click.prompt(
            "Languages of the site, its default first (fr, en, fr,en or en,fr)",
            default=languages, value_proc=_languages))
    if _asked(cctx, "country"):
        country = click.prompt("Country of the cases (gazetteer)", default=country,
                               type=click.Choice(["BI", "CM"], case_sensitive=False))
    contact, langs = _address(contact), _languages(languages)
    scaffold.init(directory, organisation, country, prefix, contact=contact, languages=langs)
    click.echo(f"Created {directory}: {organisation}, languages {', '.join(langs)}, "
               f"country {country.upper()}, contact address {contact or '(none yet)'}.")
    if not contact:
        click.echo("No contact address yet: sources cannot write to you. Set it with "
                   "`temoin config set contact_email ADDRESS`.", err=True)
    click.echo("\n".join([
        "Next:",
        f"  cd {directory}",
        "  export GNUPGHOME=/path/to/offline/gnupg     # the offline machine's keyring",
        "  temoin keys generate                        # the inbox key (asks a passphrase)",
        "  temoin keys import EDITOR.asc --as editor   # each editor: two at least",
        "  temoin trust propose --editor YOU           # the signed trust root, then a",
        "  temoin trust sign --editor ANOTHER          # second editor co-signs",
        "  temoin doctor                               # what is still missing, and how"]))


@click.command("check")
@no_cache_option
@pass_ctx
def check(ctx: Context) -> None:
    """Validate the whole repo: settings, cases, workflow, signatures, custody log; with an
    editor key, the repository-level publication gates too (each skipped one is named)."""
    from temoin.curation import canary_dismissal
    from temoin.gates import case_files

    problems = validation.run(ctx.repo)
    keyring = _keyring_or_none(ctx)
    if case_files.has_editor_key(ctx.config, keyring):
        assert keyring is not None
        def allow(all_cases: list[Any], canaries: list[Any]) -> list[Any]:
            with curation.CachedVerifier(ctx.repo) as verify:
                return canary_dismissal.allow(ctx.repo, ctx.config, all_cases, canaries,
                                              keyring, verify)

        gate = case_files.check(ctx.repo, ctx.config, keyring, allow)
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


@click.command("migrate")
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


@click.command("build")
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
    # First, before anything is read: the build module imports MkDocs and every gate, so a
    # missing gate stops the build here (fail closed); init and check do not pay for them.
    from temoin import trust
    from temoin.publish import build as build_mod

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


@click.command("serve")
@click.option("--dev-addr", default="127.0.0.1:8000", show_default=True)
@no_cache_option
@pass_ctx
def serve(ctx: Context, dev_addr: str) -> None:
    """Local preview with live reload: published cases only, as in the real build.
    After an edit only the pages it changed are rebuilt (site/preview.py)."""
    from temoin.site import preview

    ctx.config  # validate settings before starting  # noqa: B018
    preview.serve(ctx.repo, dev_addr, echo=click.echo)
