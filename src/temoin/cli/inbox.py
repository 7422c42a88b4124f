"""`temoin ingest`, and `show_private` for `temoin case show --private`."""

from __future__ import annotations

import datetime as dt
import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

import click

from temoin import cases
from temoin.cli.common import Context, pass_ctx
from temoin.errors import ConfigError, CryptoError
from temoin.intake import ingest as intake
from temoin.progress import Phase, Progress


def printable(text: str, keep_newlines: bool = False) -> str:
    """Text safe for a terminal: control, bidi and other format characters are shown as
    escapes, so a hostile name or testimony cannot move the cursor or reorder a line."""
    out = []
    for c in str(text):
        if keep_newlines and c in "\n\t":
            out.append(c)
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(c.encode("unicode_escape").decode("ascii"))
        else:
            out.append(c)
    return "".join(out)


def _keyring(ctx: Context) -> Any:
    """The keyring, or exit 3: a missing GNUPGHOME or passphrase file is a crypto failure."""
    try:
        return ctx.keyring()
    except ConfigError as exc:
        raise CryptoError(exc.message) from None


class _Bar:
    """Ingest progress (`temoin.progress`): counts only, never a file name; shown from
    BAR_FROM files (a few files take a second or two)."""

    BAR_FROM = 10

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.phase: Phase | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.phase is None and total >= self.BAR_FROM:
            self.phase = self.progress.begin("ingest", total, "files")
        if self.phase is not None and done:
            self.phase.advance()

    def close(self) -> None:
        if self.phase is not None:
            self.phase.end()


@click.command("ingest")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON only: [{file, result, "
              "case, reason}].")
@pass_ctx
def ingest_command(ctx: Context, files: tuple[Path, ...], as_json: bool) -> None:
    """Decrypt every submission in inbox/ (or FILE…) into draft cases.

    Each file ends ingested, duplicate or quarantined (inbox/quarantine/, with a .reason
    file). Nothing decrypted is written to disk unencrypted."""
    ctx.require_trust()
    keyring = _keyring(ctx)
    bar = _Bar(Progress.for_cli(quiet=as_json))
    try:
        results = intake.ingest(ctx.repo, ctx.config, keyring, list(files) or None, bar)
    finally:
        bar.close()
    if as_json:
        click.echo(json.dumps([{"file": r.file, "result": r.result, "case": r.case,
                                "reason": r.reason} for r in results], ensure_ascii=False,
                              indent=2))
        return
    if not results:
        click.echo("inbox is empty: nothing to ingest")
        return
    width = min(60, max(len(printable(r.file)) for r in results))
    for r in results:
        detail = r.case or ""
        if r.reason and r.result != "duplicate":
            detail = r.reason
        click.echo(f"{printable(r.file):<{width}}  {r.result:<11}  {printable(detail)}")
    counts = {k: sum(r.result == k for r in results)
              for k in ("ingested", "duplicate", "quarantined")}
    click.echo(f"\n{counts['ingested']} ingested, {counts['duplicate']} duplicate, "
               f"{counts['quarantined']} quarantined")
    if counts["quarantined"]:
        click.echo("quarantined originals and their reasons: inbox/quarantine/")
    if counts["ingested"]:
        click.echo("next: `temoin case list --status draft`, then "
                   "`temoin case show ID --private`")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def show_private(ctx: Context, case_id: str, as_json: bool) -> None:
    """Print a case with its decrypted private part, to the terminal only (never a file).

    JSON: the public front matter, `path`, `narrative` and a `private` object (testimony,
    subject, signer, evidence [{name, sha256, media_type, …}], intake, …). Exit 3 when the
    private part cannot be decrypted here."""
    repo = ctx.repo
    case = cases.load(repo, case_id)
    private = cases.read_private(repo, case.id, _keyring(ctx))
    if not sys.stdout.isatty():
        click.echo(f"warning: {case.id}: decrypted private part written to a pipe or file, "
                   "not a terminal; do not keep it unencrypted", err=True)
    if as_json:
        out = {**_jsonable(case.meta), "path": str(case.stored_path.relative_to(repo)),
               "narrative": case.narrative, "private": _jsonable(private)}
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    meta = case.meta
    click.echo(f"{case.id}  {printable(case.title())}")
    click.echo(f"status: {meta.get('status')}  verification: {meta.get('verification')}  "
               f"consent: {meta.get('consent')}")
    click.echo("\n=== CONFIDENTIAL: decrypted private part (do not copy into case.md) ===")
    intake_info = private.get("intake") or {}
    click.echo(f"received: {intake_info.get('received')}  channel: {intake_info.get('channel')}"
               f"  envelope: {intake_info.get('envelope_kind')}")
    signer = private.get("signer") or {}
    if signer.get("fingerprint"):
        state = "valid" if signer.get("valid") else "NOT verified"
        click.echo(f"signed by: {signer['fingerprint']} ({state})")
    else:
        click.echo("signed by: nobody (unsigned)")
    click.echo(f"subject: {printable(private.get('subject') or '')}")
    for key in ("consent_requested", "charset_note"):
        if private.get(key):
            click.echo(f"{key.replace('_', ' ')}: {printable(str(private[key]))}")
    click.echo("\n--- testimony ---")
    click.echo(printable(private.get("testimony") or "", keep_newlines=True))
    if private.get("plaintext_beside"):
        click.echo("\n--- UNENCRYPTED text found beside the encrypted part: anyone on the way "
                   "could have written it; it is NOT part of the testimony ---")
        click.echo(printable(private["plaintext_beside"], keep_newlines=True))
    evidence = private.get("evidence") or []
    if evidence:
        click.echo("\n--- evidence (decrypt with the sha256) ---")
        for ev in evidence:
            click.echo(f"{ev.get('sha256', '')[:16]}  {ev.get('media_type', '')}  "
                       f"{ev.get('size', '?')} bytes  {printable(ev.get('name') or '')}")
    for key, value in private.items():
        if key not in ("intake", "signer", "subject", "testimony", "plaintext_beside",
                       "evidence", "consent_requested", "charset_note") and value:
            click.echo(f"\n--- {printable(key)} ---")
            click.echo(printable(json.dumps(_jsonable(value), ensure_ascii=False, indent=2),
                                 keep_newlines=True))
