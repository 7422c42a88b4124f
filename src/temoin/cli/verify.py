"""`temoin verify-site SITE`: check a built or mirrored site (a folder or an https:// URL)
against its signed manifest and its publication record (issue 20: a stale copy is refused)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from temoin.cli.common import Context, pass_ctx
from temoin.errors import EXIT_CRYPTO, EXIT_ERROR, TemoinError
from temoin.publish import freshness, mirror
from temoin.publish import manifest as integrity


def _org_key(ctx: Context) -> tuple[Path, str]:
    """The site-signing key named by the repo's signed, pinned trust root (issue 16): its
    fingerprint from the root, its public key from keys/ (checked against the root) — never
    a key shipped inside the site being checked."""
    try:
        repo = ctx.repo
    except TemoinError as exc:
        raise click.UsageError("no --key given and no repo here: pass --key FILE (the "
                               "organisation's public key, obtained separately from the "
                               "site you verify) or --repo DIR") from exc
    root = ctx.require_trust()
    fpr = str(root.payload.get("site_key") or root.payload.get("inbox_key") or "")
    site = repo / "keys" / "site.asc"
    key = site if site.is_file() and fpr != root.payload.get("inbox_key") else \
        repo / "keys" / "inbox.asc"
    if not fpr or not key.is_file():
        raise click.UsageError("the signed trust root names no site-signing key: pass --key "
                               "FILE, or add one (`temoin keys generate`, `temoin trust "
                               "propose`)")
    return key, fpr


@click.command("verify-site")
@click.argument("site")
@click.option("--key", "keyfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Public key that must have signed SHA256SUMS (default: keys/inbox.asc of "
                   "the repo). Never the copy inside the site you are checking.")
@click.option("--fingerprint", default=None,
              help="Fingerprint the signer must have (default: every key in --key, or the "
                   "repo's inbox_key).")
@click.option("--min-serial", type=click.IntRange(min=0), default=None,
              help="Refuse a site older than this publication serial.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False), default=None,
              envvar="TEMOIN_CA_FILE", help="CA certificate(s) for an https:// mirror on a "
              "private CA (certificates are always verified). Env: TEMOIN_CA_FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@pass_ctx
def verify_site(ctx: Context, site: str, keyfile: Path | None, fingerprint: str | None,
                min_serial: int | None, ca_file: str | None, as_json: bool) -> None:
    """Check SITE (a folder, a file:// URL or an https:// mirror) against its SHA256SUMS,
    the signature in SHA256SUMS.asc and its publication record.

    Prints the publication serial and date, and refuses a site older than the newest known:
    --min-serial, the repository's signed publication record (inside a repo), and the
    newest this machine verified before for the same site key (a mirror that is not
    current is refused). Exit 0 if every file matches, the signature is good and the site
    is current; 3 if the signature is missing, bad or by another key; 1 if files were
    changed, removed or added, the site is stale, or the mirror could not be fetched; 2 if
    no key to verify with was given.
    """
    expected = fingerprint
    repo_record: freshness.Publication | None = None
    if keyfile is None:
        keyfile, configured = _org_key(ctx)
        expected = expected or configured or None
        repo_record = _repo_record(ctx)
    with tempfile.TemporaryDirectory(prefix="temoin-mirror-") as tmp:
        site_dir = _local(site, Path(tmp), ca_file)
        problems = integrity.verify_site(site_dir, keyfile, expected_signer=expected)
        listed = _count(site_dir)
        pub = freshness.read(site_dir)
    signer = (expected or _key_fpr(keyfile)).replace(" ", "").upper()
    known: list[tuple[int, str]] = []
    if min_serial is not None:
        known.append((min_serial, "--min-serial"))
    if repo_record is not None:
        known.append((repo_record.serial, f"the repository's signed record, of "
                                          f"{repo_record.date}"))
    seen = freshness.highest_seen(signer) if signer else None
    if seen is not None:
        known.append((seen.serial, f"verified on this machine before, of {seen.date}"))
    stale = freshness.stale(pub, known)
    newest = max([s for s, _ in known], default=None)
    if not problems and not stale and pub is not None and signer:
        freshness.remember(signer, pub)
    problems += stale
    if as_json:
        click.echo(json.dumps({"ok": not problems, "site": site, "files": listed,
                               "serial": pub.serial if pub else None,
                               "date": pub.date if pub else None, "newest_known": newest,
                               "current": not stale, "problems": problems},
                              ensure_ascii=False, indent=2))
    elif not problems:
        assert pub is not None
        click.echo(f"site OK: {listed} files match {integrity.SUMS}, signature good; "
                   f"{pub}: current" + (f" (newest known: {newest})" if newest is not None
                                        else ""))
    else:
        if pub is not None:
            click.echo(f"site {site}: {pub}" + (f"; newest known: {newest}" if newest is not None
                                                 else ""), err=True)
        click.echo(f"site {site} FAILED verification ({len(problems)} problems):", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
    if problems:
        sig_problem = any(p.startswith(integrity.SIG) for p in problems)
        click.get_current_context().exit(EXIT_CRYPTO if sig_problem else EXIT_ERROR)


def _local(site: str, tmp: Path, ca_file: str | None) -> Path:
    """The folder to verify: SITE itself, a file:// URL's folder, or a fetched mirror."""
    if not mirror.is_url(site):
        path = Path(site)
        if not path.is_dir():
            raise click.BadParameter(f"{site}: no such folder (or give an https:// URL)",
                                     param_hint="SITE")
        return path
    local = mirror.local_path(site)
    if local is not None:
        return _local(str(local), tmp, ca_file)
    return mirror.fetch(site, tmp / "site", ca_file)


def _repo_record(ctx: Context) -> freshness.Publication | None:
    """The publication record the repository's signed decisions imply (None: no repo)."""
    from temoin import curation

    try:
        repo, cfg = ctx.repo, ctx.config
    except TemoinError:
        return None
    with curation.CachedVerifier(repo) as verify:
        return freshness.record(repo, cfg, verify)


def _key_fpr(keyfile: Path) -> str:
    from temoin import keys

    found = keys.key_fingerprints(keyfile.read_bytes())
    return found[0] if len(found) == 1 else ""


def _count(site_dir: Path) -> int:
    sums = site_dir / integrity.SUMS
    try:
        return sum(1 for line in sums.read_text(encoding="utf-8").splitlines() if line)
    except (OSError, UnicodeDecodeError):
        return 0

