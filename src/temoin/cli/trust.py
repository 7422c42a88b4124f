"""`temoin trust show/pin/propose/sign`: the signed trust root and its pin (issue 16)."""

from __future__ import annotations

import json

import click

from temoin import trust as trust_mod
from temoin.cli.case import acting, editor_option
from temoin.cli.common import Context, pass_ctx


@click.group("trust")
def trust() -> None:
    """The signed trust root: editors, keys and safety settings, pinned on this machine."""


@trust.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def show(ctx: Context, as_json: bool) -> None:
    """Verify the trust root and show its fingerprint (compare it out of band)."""
    root = ctx.require_trust()
    pin = trust_mod.read_pin(root.repo_id) or {}
    if as_json:
        click.echo(json.dumps({"repo_id": root.repo_id, "root": root.fingerprint,
                               "serial": root.serial, "latest_sha256": root.sha256,
                               "pinned": pin.get("root") == root.fingerprint,
                               "payload": root.payload}, indent=1, ensure_ascii=False))
        return
    click.echo(f"Trust root:   {trust_mod.groups(root.fingerprint)}")
    click.echo(f"Repo id:      {root.repo_id}")
    click.echo(f"Statement:    trust/{root.serial:04d}.json (signed by "
               f"{', '.join(root.signers)})")
    for e in root.payload.get("editors") or []:
        click.echo(f"Editor:       {e.get('person')}: {e.get('name')} {e.get('fingerprint')}")
    click.echo(f"Inbox key:    {root.payload.get('inbox_key') or '-'}")
    click.echo(f"Site key:     {root.payload.get('site_key') or '-'}")
    click.echo(f"Pinned here:  {trust_mod.pins_dir() / (root.repo_id + '.json')}")


@trust.command("pin")
@click.argument("root_fpr", required=False)
@click.option("--replace", is_flag=True, help="Replace a different pin (after comparing the "
              "new root out of band with the other editors).")
@pass_ctx
def pin(ctx: Context, root_fpr: str | None, replace: bool) -> None:
    """Pin this repository's trust root on this machine (ROOT_FPR: what another editor read
    to you; without it, the root found is pinned as on first use)."""
    root = trust_mod.verify_chain(ctx.repo)
    if root_fpr and root_fpr.replace(" ", "").lower() != root.fingerprint:
        raise trust_mod.TrustError(f"trust/0000.json has root {trust_mod.groups(root.fingerprint)}"
                                   f", not the {root_fpr} you were given: do not pin it")
    old = trust_mod.read_pin(root.repo_id)
    if old and old.get("root") != root.fingerprint and not replace:
        raise trust_mod.TrustError("a different root is pinned for this repository: compare "
                                   "out of band, then `temoin trust pin ROOT --replace`")
    if replace:
        for f in trust_mod.pins_dir().glob("*.json"):
            data = trust_mod.read_pin(f.stem) or {}
            if str(ctx.repo) in (data.get("paths") or []) and f.stem != root.repo_id:
                f.unlink()
    path = trust_mod.write_pin(root.repo_id, root.fingerprint, ctx.repo)
    click.echo(f"Pinned {trust_mod.groups(root.fingerprint)} in {path}")


@trust.command("propose")
@editor_option
@pass_ctx
def propose(ctx: Context, editor_given: str | None) -> None:
    """Propose the keys and safety settings of mkdocs.yml and keys/ as the next trust-root
    statement, signed by you (the founding one when there is none yet)."""
    kr = ctx.keyring()
    cfg = ctx.config
    if not trust_mod.chain_files(ctx.repo):
        from temoin import config as config_mod

        cfg = config_mod.from_options(ctx.repo, config_mod.plugin_options(
            config_mod.read_mkdocs_yml(ctx.repo / config_mod.CONFIG_FILE)), None, root=False)
    else:
        ctx.require_trust()
    who = acting(ctx, editor_given, kr) if trust_mod.chain_files(ctx.repo) else \
        _founder(cfg, kr, editor_given)
    path, done = trust_mod.propose(ctx.repo, cfg, kr, who)
    _said(path, done)


@trust.command("sign")
@editor_option
@pass_ctx
def sign(ctx: Context, editor_given: str | None) -> None:
    """Sign the proposed trust-root change (read `trust/proposed.json` first)."""
    kr = ctx.keyring()
    if trust_mod.chain_files(ctx.repo):
        ctx.require_trust()
        who = acting(ctx, editor_given, kr)
    else:
        from temoin import config as config_mod

        cfg = config_mod.from_options(ctx.repo, config_mod.plugin_options(
            config_mod.read_mkdocs_yml(ctx.repo / config_mod.CONFIG_FILE)), None, root=False)
        who = _founder(cfg, kr, editor_given)
    path, done = trust_mod.sign(ctx.repo, kr, who)
    _said(path, done)


def _founder(cfg: object, kr: object, given: str | None) -> str:
    from temoin.curation import editors

    return editors.acting_editor(cfg, kr, given)  # type: ignore[arg-type]


def _said(path: object, done: bool) -> None:
    if done:
        click.echo(f"In force: {path}. Commit trust/ and keys/; every other editor compares "
                   "`temoin trust show` out of band.")
    else:
        click.echo(f"Signed {path}; it needs another editor's signature (`temoin trust "
                   "sign`) before it counts.")

