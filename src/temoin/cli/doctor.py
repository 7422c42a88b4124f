"""`temoin doctor`: what still makes a launch unsafe, and the command that fixes each."""

from __future__ import annotations

import json
from pathlib import Path

import click

from temoin.cli.common import Context, pass_ctx
from temoin.errors import EXIT_ERROR


@click.command("doctor")
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The built site to check (default: REPO/site).")
@click.option("--json", "as_json", is_flag=True,
              help="Print {ready, findings: [{check, status, what, fix}]} only.")
@pass_ctx
def doctor(ctx: Context, site_dir: Path | None, as_json: bool) -> None:
    """Check that the organisation is ready to launch: contact address, inbox key (its
    passphrase, its address), two editors, the signed trust root, the key on the built site,
    Git, the text editor. Each line names the command that fixes it; exit 1 while anything
    makes the launch unsafe (warnings alone exit 0). Changes nothing, unlocks nothing."""
    from temoin.scaffold import doctor as checks

    keyring = ctx.keyring(ask=False) if ctx.gnupghome else None
    findings = checks.run(ctx.repo, keyring, site_dir=site_dir)
    if as_json:
        click.echo(json.dumps({"ready": checks.ready(findings),
                               "findings": [f.as_json() for f in findings]},
                              ensure_ascii=False, indent=1))
    else:
        checks.report(findings, click.echo)
    if not checks.ready(findings):
        raise SystemExit(EXIT_ERROR)
