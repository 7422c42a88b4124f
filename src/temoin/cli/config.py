"""`temoin config show/set`: the settings, changed by command instead of by hand (issue 17)."""

from __future__ import annotations

import json

import click

from temoin.cli.case import acting, editor_option
from temoin.cli.common import Context, pass_ctx
from temoin.scaffold import configure


@click.group("config")
def config_group() -> None:
    """Show and change the settings (mkdocs.yml; the safety settings through the signed
    trust root)."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def show(ctx: Context, as_json: bool) -> None:
    """Every setting: the value in force, and what mkdocs.yml proposes where it differs."""
    cfg = ctx.config
    mine = configure.proposed(ctx.repo)
    rows = []
    for key, spec in configure.SETTINGS.items():
        now, wanted = configure.current(cfg, key), configure.current(mine, key)
        row = {"key": key, "value": now, "trusted": spec.trusted, "help": spec.help}
        if wanted != now:
            row["proposed"] = wanted
        rows.append(row)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from temoin import trust

    signed = " (signed)" if trust.chain_files(ctx.repo) else " (trust root, once signed)"
    for row in rows:
        mark = signed if row["trusted"] else ""
        line = f"{row['key']:<22} {configure.shown(row['value'])}{mark}"
        if "proposed" in row:
            line += (f"   [mkdocs.yml proposes {configure.shown(row['proposed'])}: "
                     "needs two editors' signatures]")
        click.echo(line)


@config_group.command("set")
@click.argument("key", metavar="SETTING")
@click.argument("values", nargs=-1, required=True, metavar="VALUE…")
@editor_option
@pass_ctx
def set_(ctx: Context, key: str, values: tuple[str, ...], editor_given: str | None) -> None:
    """Change SETTING in mkdocs.yml (`temoin config show` lists them). Once there is a
    trust root, every change is proposed at once as the next trust-root statement, signed
    by the acting editor (a safety setting, the site's settings in mkdocs.yml, its own
    files): it counts, and the site builds, once a second editor signs it."""
    from temoin import trust

    spec = configure.setting(key)
    rooted = bool(trust.chain_files(ctx.repo))
    kr, editor = None, None
    if rooted:
        # Who signs is settled before anything changes: nothing is left half done.
        ctx.require_trust()
        kr = ctx.keyring()
        editor = acting(ctx, editor_given, kr)
    change = configure.set_value(ctx.repo, key, list(values))
    click.echo(f"{key}: {configure.shown(change.old)} -> {configure.shown(change.new)} "
               "(mkdocs.yml)")
    if not rooted:
        if spec.trusted:
            click.echo("A safety setting: the founding trust-root statement states it "
                       "(`temoin trust propose --editor YOU`, then a second editor `temoin "
                       "trust sign --editor ANOTHER`).")
        return
    assert kr is not None and editor is not None
    after = configure.pending(ctx.repo)
    if not after:
        click.echo("The signed trust root already states it: nothing to sign.")
        return
    path, done = trust.propose(ctx.repo, ctx.config, kr, editor)
    click.echo(f"Proposed {path.relative_to(ctx.repo)}, signed by "
               f"{ctx.config.editor_name(editor)}; it changes: {', '.join(after)}.")
    if done:
        click.echo(f"In force now ({path.relative_to(ctx.repo)}). Next: `git add mkdocs.yml "
                   "trust/ site_src/ && git commit`.")
    else:
        click.echo("Until a second editor signs it, the signed root's value still counts. "
                   "Next: another editor reads trust/proposed.json and runs `temoin trust "
                   "sign --editor THEM`; then `git add mkdocs.yml trust/ site_src/ && git "
                   "commit`.")
