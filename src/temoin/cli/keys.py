"""`temoin keys …`: the organisation inbox key, editors and partners."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import click

from temoin import settings
from temoin.cli.common import Context, pass_ctx
from temoin.config import PARTNER_CATEGORIES, Config, is_email
from temoin.errors import ConfigError
from temoin.files import MAX_KEY_FILE, read_bounded

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


@click.group("keys")
def keys_group() -> None:
    """Generate, import, export and list keys (public parts go under keys/)."""


def new_passphrase(passphrase_file: Path | None, what: str) -> str:
    """The passphrase to protect a new key with: --passphrase-file, else
    TEMOIN_PASSPHRASE_FILE (the one later commands read), else asked twice on a terminal
    (never shown, never written anywhere). Elsewhere: a usage error naming the ways."""
    from temoin import keys

    if passphrase_file is not None:
        pw = _read_passphrase(passphrase_file)
    elif (env := keys.passphrase_from_env()) is not None:
        pw = env
    elif sys.stdin.isatty():
        pw = click.prompt(f"Passphrase for {what} (not shown)", hide_input=True,
                          confirmation_prompt="Repeat it", err=True)
    else:
        raise click.UsageError(
            f"{what} is protected by a passphrase: run this on a terminal (it is asked twice, "
            "never shown), or give --passphrase-file FILE or TEMOIN_PASSPHRASE_FILE; "
            "--no-passphrase only for tests and demonstrations")
    if not pw:
        raise click.UsageError("an empty passphrase protects nothing")
    return pw


def _read_passphrase(path: Path) -> str:
    from temoin.keys.gpg import read_passphrase_file

    return read_passphrase_file(path, f"--passphrase-file {path}")


def _uid(cfg: Config, name: str | None, email: str) -> str:
    return f"{name or cfg.organisation} <{email}>" if email else (name or cfg.organisation)


def _pending_root(ctx: Context) -> None:
    """Say what a changed key needs once a signed trust root exists."""
    from temoin import trust

    if trust.chain_files(ctx.repo):
        click.echo("The inbox key is part of the signed trust root: propose the change "
                   "(`temoin trust propose --editor YOU`); it counts once a second editor "
                   "signs it (`temoin trust sign --editor ANOTHER`).")


@keys_group.command("generate")
@click.option("--name", default=None, help="User ID name (default: the organisation).")
@click.option("--email", default=None, help="User ID email (default: contact_email).")
@click.option("--algo", type=click.Choice(["ed25519", "rsa4096"]), default="ed25519",
              show_default=True)
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Read the passphrase from FILE (one line, no newline) "
              "instead of asking it twice on the terminal.")
@click.option("--no-passphrase", is_flag=True,
              help="No passphrase: for tests and demonstrations only (`temoin doctor` "
                   "refuses such a key for a launch).")
@pass_ctx
def generate(ctx: Context, name: str | None, email: str | None, algo: str,
             passphrase_file: Path | None, no_passphrase: bool) -> None:
    """Create the organisation inbox key (what sources encrypt to) and publish its public part.

    Protected by a passphrase (asked twice on a terminal, or --passphrase-file, or
    TEMOIN_PASSPHRASE_FILE); its user id holds the organisation and contact_email. The old
    inbox key, if any, stays in GNUPGHOME so what was sent to it still decrypts."""
    if no_passphrase and passphrase_file:
        raise click.UsageError("--no-passphrase and --passphrase-file contradict each other")
    cfg = ctx.config
    address = email if email is not None else cfg.contact_email
    if address and not is_email(address):
        raise click.BadParameter(f"expected an e-mail address, got {address!r}",
                                 param_hint="--email")
    kr = ctx.keyring(ask=False)
    pw = "" if no_passphrase else new_passphrase(passphrase_file, "the inbox key")
    uid = _uid(cfg, name, address)
    fpr = kr.generate(name or cfg.organisation, address, algo, passphrase=pw)
    (ctx.repo / "keys").mkdir(exist_ok=True)
    (ctx.repo / "keys" / "inbox.asc").write_text(kr.export_public(fpr))
    settings.update(ctx.repo, lambda o: o.__setitem__("inbox_key", fpr))
    click.echo(f"Inbox key {fpr} created for {uid!r}"
               + ("" if no_passphrase else ", protected by its passphrase")
               + "; public key in keys/inbox.asc, recorded as inbox_key.")
    if no_passphrase:
        click.echo("Warning: the inbox key has NO passphrase (--no-passphrase): for tests and "
                   "demonstrations only; `temoin keys protect` gives it one.", err=True)
    else:
        click.echo("Commands that decrypt or sign with it ask for the passphrase on a "
                   "terminal, or read the file TEMOIN_PASSPHRASE_FILE names.")
    if not address:
        click.echo("Warning: no contact address in its user id (contact_email is empty): "
                   "`temoin config set contact_email ADDRESS`, then `temoin keys add-uid`.",
                   err=True)
    click.echo("Keep GNUPGHOME on the offline editing machine only; back it up encrypted.")
    _pending_root(ctx)


@keys_group.command("protect")
@click.argument("fingerprint", required=False)
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Read the new passphrase from FILE (one line, no newline).")
@pass_ctx
def protect_key(ctx: Context, fingerprint: str | None, passphrase_file: Path | None) -> None:
    """Give a key that has no passphrase one (default: the inbox key)."""
    from temoin.keys import protect

    fpr = _fingerprint_or_inbox(ctx, fingerprint)
    kr = ctx.keyring(ask=False)
    found = protect.parts(kr, fpr)
    if not found:
        raise ConfigError(f"no secret key {fpr} in {kr.home}: run this where it lives (the "
                          "offline machine's GNUPGHOME)")
    if all(p.state in (protect.PROTECTED, protect.CARD) for p in found):
        click.echo(f"{fpr} is already protected by a passphrase: nothing to do.")
        return
    protect.set_passphrase(kr, fpr, new_passphrase(passphrase_file, f"key {fpr[-16:]}"))
    click.echo(f"{fpr} is now protected by its passphrase. Commands that decrypt or sign "
               "with it ask for it on a terminal, or read TEMOIN_PASSPHRASE_FILE.")


@keys_group.command("add-uid")
@click.option("--email", default=None, help="The address (default: contact_email).")
@click.option("--name", default=None, help="The name (default: the organisation).")
@pass_ctx
def add_uid(ctx: Context, email: str | None, name: str | None) -> None:
    """Put the contact address into the inbox key's user id (made its primary one) and
    publish the key again in keys/inbox.asc (same fingerprint: no trust change)."""
    from temoin.keys import protect

    cfg = ctx.config
    address = email if email is not None else cfg.contact_email
    if not address or not is_email(address):
        raise ConfigError("no contact address to add: `temoin config set contact_email "
                          "ADDRESS` first (or --email ADDRESS)")
    fpr = _fingerprint_or_inbox(ctx, None)
    kr = ctx.keyring()
    uid = _uid(cfg, name, address)
    protect.add_uid(kr, fpr, uid, kr.passphrase)
    (ctx.repo / "keys" / "inbox.asc").write_text(kr.export_public(fpr))
    click.echo(f"Inbox key {fpr} now says {uid!r} first; keys/inbox.asc updated (rebuild the "
               "site with `temoin build` so sources get it).")


def _fingerprint_or_inbox(ctx: Context, fingerprint: str | None) -> str:
    fpr = (fingerprint or ctx.config.inbox_key).replace(" ", "").upper()
    if not fpr:
        raise ConfigError("no inbox_key configured: run `temoin keys generate`")
    return fpr


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
    kr = ctx.keyring(ask=False)
    fprs = kr.import_keys(read_bounded(file, MAX_KEY_FILE, "key file", ConfigError) or b"")
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
    fpr = _fingerprint_or_inbox(ctx, fingerprint)
    click.echo(ctx.keyring(ask=False).export_public(fpr), nl=False)


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def list_keys(ctx: Context, as_json: bool) -> None:
    """Keys the settings name, and whether their secret part is on this machine."""
    cfg = ctx.config
    kr = ctx.keyring(ask=False)
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
