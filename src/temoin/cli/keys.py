"""`temoin keys …`: the organisation inbox key, editors and partners."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import click

from temoin import settings
from temoin.cli.common import Context, main, pass_ctx
from temoin.config import PARTNER_CATEGORIES
from temoin.errors import ConfigError

# Letters NFKD does not take apart into a base letter and marks.
_ASCII = str.maketrans({"æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "đ": "d", "ð": "d",
                        "ł": "l", "ŋ": "ng", "þ": "th", "ı": "i", "ɓ": "b", "ɗ": "d"})


def slug(text: str) -> str:
    """A file name for a key from its owner's name, in ASCII: 'Bob Éditeur' ->
    'bob-editeur' (accents dropped, not the letters that carry them)."""
    plain = unicodedata.normalize("NFKD", text.lower().translate(_ASCII))
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40] or "key"


def key_file(folder: Path, display: str, fpr: str) -> Path:
    """`folder/<slug>.asc`, unless that file holds another key (two editors whose names
    differ only by accents, or written in another script): then the fingerprint's last 8
    digits are added, so that importing one never replaces the other's key."""
    dest = folder / f"{slug(display)}.asc"
    if dest.is_file():
        from temoin import keys

        with keys.public_keyring([dest]) as kr:
            if fpr not in {k.fingerprint for k in kr.list()}:
                dest = folder / f"{slug(display)}-{fpr[-8:].lower()}.asc"
    return dest


@main.group("keys")
def keys_group() -> None:
    """Generate, import, export and list keys (public parts go under keys/)."""


@keys_group.command("generate")
@click.option("--name", default=None, help="User ID name (default: the organisation).")
@click.option("--email", default=None, help="User ID email (default: contact_email).")
@click.option("--algo", type=click.Choice(["ed25519", "rsa4096"]), default="ed25519",
              show_default=True)
@pass_ctx
def generate(ctx: Context, name: str | None, email: str | None, algo: str) -> None:
    """Create the organisation inbox key (what sources encrypt to) and publish its public part.

    The old inbox key, if any, stays in GNUPGHOME so what was sent to it still decrypts."""
    cfg = ctx.config
    kr = ctx.keyring()
    fpr = kr.generate(name or cfg.organisation, email or cfg.contact_email, algo)
    (ctx.repo / "keys").mkdir(exist_ok=True)
    (ctx.repo / "keys" / "inbox.asc").write_text(kr.export_public(fpr))
    settings.update(ctx.repo, lambda o: o.__setitem__("inbox_key", fpr))
    click.echo(f"Inbox key {fpr} created; public key in keys/inbox.asc, recorded as inbox_key.")
    click.echo("Keep GNUPGHOME on the offline editing machine only; back it up encrypted.")


@keys_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "role", type=click.Choice(["inbox", "editor", "partner"]), required=True)
@click.option("--name", default=None, help="Display name (editors, partners).")
@click.option("--category", type=click.Choice(PARTNER_CATEGORIES), default=None,
              help="Partner category (required for --as partner).")
@pass_ctx
def import_key(ctx: Context, file: Path, role: str, name: str | None,
               category: str | None) -> None:
    """Import FILE into GNUPGHOME, copy its public key under keys/, record it in mkdocs.yml."""
    if role == "partner" and not category:
        raise click.UsageError("--as partner needs --category " + "|".join(PARTNER_CATEGORIES))
    kr = ctx.keyring()
    fprs = kr.import_keys(file.read_bytes())
    if len(fprs) != 1:
        raise ConfigError(f"{file}: expected exactly one key, found {len(fprs)}")
    fpr = fprs[0]
    needs = "es" if role == "editor" else "e"
    unfit = kr.unfit(fpr, needs)
    if unfit:
        # Every confidential file is encrypted to the editors, every dossier to its partner,
        # every testimony to the inbox key: a key that cannot do its job fails later, worse.
        raise ConfigError(f"{file}: key {fpr} cannot serve as {role}: " + "; ".join(unfit)
                          + " (it stays in GNUPGHOME but is not recorded in mkdocs.yml)")
    uid = next((k.uids[0] for k in kr.list() if k.fingerprint == fpr and k.uids), fpr)
    display = name or uid.split(" <")[0]
    public = kr.export_public(fpr)
    if role == "inbox":
        dest = ctx.repo / "keys" / "inbox.asc"

        def change(o: Any) -> None:
            o["inbox_key"] = fpr
    elif role == "editor":
        dest = key_file(ctx.repo / "keys" / "editors", display, fpr)

        def change(o: Any) -> None:
            rec = [r for r in (o.get("recipients") or [])
                   if (r.get("fingerprint") if isinstance(r, dict) else r) != fpr]
            rec.append({"fingerprint": fpr, "name": display})
            o["recipients"] = rec
    else:
        dest = key_file(ctx.repo / "keys" / "partners", display, fpr)

        def change(o: Any) -> None:
            rest = [p for p in (o.get("partners") or []) if p.get("fingerprint") != fpr]
            rest.append({"name": display, "fingerprint": fpr, "category": category})
            o["partners"] = rest
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(public)
    settings.update(ctx.repo, change)
    click.echo(f"Imported {fpr} as {role} ({display}); public key in "
               f"{dest.relative_to(ctx.repo)}.")
    if role == "editor":
        click.echo("New confidential files are encrypted to it; re-encrypt older ones with "
                   "`temoin case edit` when needed.")


@keys_group.command("export")
@click.argument("fingerprint", required=False)
@pass_ctx
def export(ctx: Context, fingerprint: str | None) -> None:
    """Print a public key (default: the inbox key), armored."""
    fpr = fingerprint or ctx.config.inbox_key
    if not fpr:
        raise ConfigError("no inbox_key configured: run `temoin keys generate`")
    click.echo(ctx.keyring().export_public(fpr), nl=False)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def list_keys(ctx: Context, as_json: bool) -> None:
    """Keys the settings name, and whether their secret part is on this machine."""
    cfg = ctx.config
    kr = ctx.keyring()
    secret = {k.fingerprint for k in kr.list(secret=True)}
    public = {k.fingerprint: k for k in kr.list()}
    rows = []
    if cfg.inbox_key:
        rows.append(("inbox", cfg.inbox_key, cfg.organisation))
    rows += [("editor", e.fingerprint, e.name) for e in cfg.recipients]
    rows += [(f"partner:{p.category}", p.fingerprint, p.name) for p in cfg.partners]
    data = [{"role": r, "fingerprint": f, "name": n, "in_keyring": f in public,
             "secret": f in secret} for r, f, n in rows]
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    for d in data:
        flag = "sec" if d["secret"] else ("pub" if d["in_keyring"] else "---")
        click.echo(f"{d['role']:<20} {flag} {d['fingerprint']}  {d['name']}")
