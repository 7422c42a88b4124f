"""`temoin case intervene`, `temoin share`, `temoin receipt`: acting on cases (issue 9)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from temoin.cases import vocab
from temoin.cli.case import acting, editor_option
from temoin.cli.common import Context, pass_ctx
from temoin.curation import interventions
from temoin.errors import TemoinError
from temoin.share import dossier as share
from temoin.share import receipt as receipts


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


@click.command("intervene")
@click.argument("case_id")
@click.option("--type", "kind", type=click.Choice(list(vocab.terms("intervention_types"))),
              help="What was done (required for a new intervention).")
@click.option("--to", "addressed_to", help="Who it was addressed to (confidential).")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]),
              help="When (YYYY-MM-DD; default today).")
@click.option("--status", type=click.Choice(list(vocab.terms("intervention_status"))),
              help="planned | sent (default) | responded | closed.")
@click.option("--response", help="The answer received (confidential).")
@click.option("--outcome", help="What came of it (confidential).")
@click.option("--summary-fr", help="Public summary in French (shown on the case page when the "
                                   "case consent is anonymised or named).")
@click.option("--summary-en", help="Public summary in English (one language is used for both).")
@click.option("--update", "iv_id", metavar="IID",
              help="Update intervention IID (e.g. i1) instead of recording a new one.")
@editor_option
@pass_ctx
def intervene(ctx: Context, case_id: str, kind: str | None, addressed_to: str | None,
              day: dt.datetime | None, status: str | None, response: str | None,
              outcome: str | None, summary_fr: str | None, summary_en: str | None,
              iv_id: str | None, editor_given: str | None) -> None:
    """Record an intervention on CASE_ID (or, with --update, its response or outcome).

    Who it was addressed to, the response and the outcome stay in the encrypted private
    part; only --summary-fr/--summary-en can reach the case page, and only when the case's
    publication consent is anonymised or named. After a consent change, `--update IID`
    with nothing else re-derives the public list."""
    values: dict[str, Any] = {"response": response, "outcome": outcome,
                              "public_summary": interventions.summary(summary_fr, summary_en)}
    if iv_id is None:
        if not kind or not addressed_to:
            raise click.UsageError("a new intervention needs --type and --to (or --update "
                                   "IID to change an existing one)")
        values.update(kind=kind, addressed_to=addressed_to,
                      day=_day(day) or dt.date.today(),
                      status=status or ("responded" if response else "sent"))
    else:
        if kind or addressed_to:
            raise click.UsageError("--type and --to cannot change on --update: record a new "
                                   "intervention instead")
        values.update(status=status, day=_day(day))
    kr = ctx.keyring()
    who = acting(ctx, editor_given, kr)
    done = interventions.record(ctx.repo, ctx.config, kr, case_id, who,
                                iv_id=iv_id, **values)
    rec = done.intervention
    verb = "updated" if iv_id else "recorded"
    click.echo(f"Intervention {rec['id']} ({rec['type']}, {rec['status']}) {verb} on "
               f"{case_id} (private part re-encrypted; custody entry added).")
    if done.public:
        click.echo("Its public summary shows on the case page at the next `temoin build`.")
    elif rec.get("public_summary"):
        click.echo("Its public summary stays private: the case's publication consent is not "
                   "anonymised or named.")
    else:
        click.echo("No public summary (add --summary-fr/--summary-en to show one).")
    if rec["status"] in interventions.AWAITING:
        click.echo(f"Next: when they answer, `temoin case intervene {case_id} --update "
                   f"{rec['id']} --response …`.")


@click.command("share")
@click.argument("case_ids", nargs=-1, required=True)
@click.option("--to", "partner_ref", required=True,
              help="Partner name or fingerprint (configured with `temoin keys import --as "
                   "partner`).")
@click.option("-o", "--output", "out", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="Dossier file: .pgp/.gpg (binary) or .asc (armored).")
@click.option("--public-only", is_flag=True,
              help="Only the public part of published cases (no share consent needed).")
@editor_option
@pass_ctx
def share_cmd(ctx: Context, case_ids: tuple[str, ...], partner_ref: str, out: Path,
              public_only: bool, editor_given: str | None) -> None:
    """Build an encrypted, signed dossier of CASE_IDS for a partner, honouring consent.

    Exit 4 (naming each case and why) when a case's share consent does not cover the
    partner's category, or with --public-only when a case is not public on the site."""
    ctx.require_trust()
    cfg = ctx.config
    partner = cfg.partner(partner_ref)
    armor = share.armor_for(out)
    if out.exists() or share.receipt_path(out).exists():
        raise click.UsageError(f"{out} (or its receipt) already exists: choose another name")
    kr = ctx.keyring()
    who = acting(ctx, editor_given, kr)
    dossier = share.create(ctx.repo, cfg, kr, list(case_ids), partner, who,
                           public_only=public_only, armor=armor)
    _, receipt = share.write(ctx.repo, cfg, kr, dossier, out, who)
    man = dossier.manifest
    click.echo(f"Dossier {out}: {len(man['cases'])} case(s), {len(man['files'])} file(s)"
               f"{' (public part only)' if public_only else ''}, encrypted to {partner.name} "
               f"({partner.category}, {partner.fingerprint}) and signed by the organisation "
               "key.")
    click.echo(f"Receipt: {receipt} (+ .asc); custody entry \"shared\" added. Send {out.name} "
               "to the partner only; check it later with `temoin receipt`.")
    if dossier.ignored:
        click.echo(f"warning: {len(dossier.ignored)} file(s) in evidence folders are not listed "
                   "in their case's private part and were left out of the dossier (only "
                   "listed evidence is shared; list it with `temoin case edit` or remove it):",
                   err=True)
        for rel in dossier.ignored:
            click.echo(f"  {rel}", err=True)


@click.command("receipt")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", "keyfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Organisation public key (default: keys/inbox.asc of the repo).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def receipt_cmd(ctx: Context, file: Path, keyfile: Path | None, as_json: bool) -> None:
    """Show what a dossier contained, from its signed receipt (nothing is decrypted).

    FILE is the dossier (it must be there: its size and sha256 are checked) or
    FILE.receipt.json (the dossier is then checked if it is beside it). Exit 3 if the
    receipt's signature is missing or not the organisation's; 1 if the receipt is malformed
    or describes another dossier than FILE. Nothing of a receipt is shown before both pass."""
    expected = ""
    if keyfile is None:
        keyfile = ctx.repo / "keys" / "inbox.asc"
        expected = ctx.config.inbox_key
    try:
        r = receipts.read_receipt(file, keyfile, expected)
    except TemoinError as exc:
        if not as_json:
            raise
        click.echo(json.dumps({"ok": False, "problems": exc.message.splitlines()},
                              ensure_ascii=True, indent=1))
        click.get_current_context().exit(exc.exit_code)
    man, info = r.data["manifest"], r.data["dossier"]
    if as_json:
        click.echo(json.dumps({"ok": True, "signer": r.signer,
                               "dossier_matches": r.dossier_matches, "problems": [],
                               **r.data}, ensure_ascii=False, indent=1))
        return
    p = man["partner"]
    click.echo(f"Dossier {info['file']} (sha256 {info['sha256']}, {info['size']} bytes)")
    click.echo(f"  to {p['name']} ({p['category']}, {p['fingerprint']}), "
               f"created {man['created']} by editor {man['shared_by']}")
    click.echo(f"  {'public part only' if man['public_only'] else 'full dossier'}; "
               f"cases: {', '.join(man['cases'])}")
    for f in man["files"]:
        click.echo(f"  {f['size']:>10}  {f['sha256']}  {f['path']}")
    click.echo(f"Receipt signature good ({r.signer}); "
               + ("the dossier file matches." if r.dossier_matches else
                  f"the dossier file {info['file']} is not here, so it was not checked."))
