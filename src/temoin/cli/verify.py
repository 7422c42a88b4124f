"""`temoin verify-site DIR`: check a built or mirrored site against its signed manifest."""

from __future__ import annotations

import json
from pathlib import Path

import click

from temoin.cli.common import Context, main, pass_ctx
from temoin.errors import EXIT_CRYPTO, EXIT_ERROR, TemoinError
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


@main.command("verify-site")
@click.argument("site_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--key", "keyfile", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Public key that must have signed SHA256SUMS (default: keys/inbox.asc of "
                   "the repo). Never the copy inside the site you are checking.")
@click.option("--fingerprint", default=None,
              help="Fingerprint the signer must have (default: every key in --key, or the "
                   "repo's inbox_key).")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON only.")
@pass_ctx
def verify_site(ctx: Context, site_dir: Path, keyfile: Path | None, fingerprint: str | None,
                as_json: bool) -> None:
    """Check SITE_DIR against its SHA256SUMS and the signature in SHA256SUMS.asc.

    Exit 0 if every file matches and the signature is good, 3 if the signature is missing,
    bad or by another key, 1 if files were changed, removed or added, 2 if no key to
    verify with was given.
    """
    expected = fingerprint
    if keyfile is None:
        keyfile, configured = _org_key(ctx)
        expected = expected or configured or None
    problems = integrity.verify_site(site_dir, keyfile, expected_signer=expected)
    listed = _count(site_dir)
    if as_json:
        click.echo(json.dumps({"ok": not problems, "site": str(site_dir), "files": listed,
                               "problems": problems}, ensure_ascii=False, indent=2))
    elif not problems:
        click.echo(f"site OK: {listed} files match {integrity.SUMS}, signature good")
    else:
        click.echo(f"site {site_dir} FAILED verification ({len(problems)} problems):", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
    if problems:
        sig_problem = any(p.startswith(integrity.SIG) for p in problems)
        click.get_current_context().exit(EXIT_CRYPTO if sig_problem else EXIT_ERROR)


def _count(site_dir: Path) -> int:
    sums = site_dir / integrity.SUMS
    try:
        return sum(1 for line in sums.read_text(encoding="utf-8").splitlines() if line)
    except (OSError, UnicodeDecodeError):
        return 0

