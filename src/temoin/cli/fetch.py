"""`temoin fetch`: copy new mail into inbox/ (the online side; never decrypts)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from temoin.cli.common import Context, pass_ctx
from temoin.intake import fetch as fetch_mod


@click.command("fetch")
@click.argument("url", required=False, metavar="[imaps://USER@HOST[:PORT]/MAILBOX]")
@click.option("--maildir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Import a local Maildir instead of an IMAP mailbox.")
@click.option("--mbox", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Import a local mbox file instead of an IMAP mailbox.")
@click.option("--move-to", metavar="FOLDER",
              help="After each message is saved, move it to this IMAP folder (created if "
                   "missing).")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Trust only this CA certificate (PEM) for the server, not the system's.")
@click.option("--starttls", is_flag=True,
              help="With imap://, upgrade to TLS before logging in (refused if the server "
                   "cannot).")
@click.option("--json", "as_json", is_flag=True, help="Print only JSON.")
@pass_ctx
def fetch_command(ctx: Context, url: str | None, maildir: Path | None, mbox: Path | None,
                  move_to: str | None, ca_file: Path | None, starttls: bool,
                  as_json: bool) -> None:
    """Copy new messages into inbox/ as <sha256>.eml, never decrypting them.

    The IMAP password comes from the file named by TEMOIN_IMAP_PASSWORD_FILE (or from
    TEMOIN_IMAP_PASSWORD), never from the command line. Each new message gets a custody
    entry; run it again at any time: nothing is fetched twice.
    """
    given = [name for name, value in (("URL", url), ("--maildir", maildir), ("--mbox", mbox))
             if value is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one source: an imaps:// URL, --maildir PATH or "
                               f"--mbox PATH (got {', '.join(given) or 'none'})")
    if url is None:
        extra = [o for o, v in (("--move-to", move_to), ("--ca-file", ca_file),
                                ("--starttls", starttls)) if v]
        if extra:
            raise click.UsageError(f"{', '.join(extra)} only apply to an IMAP URL")
    cfg = ctx.config
    if maildir is not None:
        summary = fetch_mod.fetch_maildir(cfg, maildir)
    elif mbox is not None:
        summary = fetch_mod.fetch_mbox(cfg, mbox)
    else:
        assert url is not None
        summary = fetch_mod.fetch_imap(cfg, url, move_to=move_to, ca_file=ca_file,
                                       starttls=starttls)
    if as_json:
        click.echo(json.dumps(summary.as_json(), indent=2, sort_keys=True))
    else:
        click.echo(summary.line())
