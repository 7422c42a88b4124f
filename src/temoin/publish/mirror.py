"""A mirror, fetched to be verified like a local copy (issue 20, item 2).

`temoin verify-site https://mirror.example/` downloads the mirror's SHA256SUMS, its
signature and every file SHA256SUMS lists (paths checked as `manifest` checks them) into a
temporary folder, then verifies that folder as it would a local copy: signature, every
file, and the publication record's freshness. Only HTTPS, with certificate verification
always on (a private CA is given with `--ca-file` or TEMOIN_CA_FILE, never by turning
verification off); `file://` URLs and plain folders are local copies.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit

from temoin.errors import TemoinError
from temoin.publish import manifest

MAX_FILE = 512 << 20       # one file of a mirror, at most
MAX_TOTAL = 4 << 30        # the whole mirror, at most
TIMEOUT = 30


class MirrorError(TemoinError):
    """A mirror could not be fetched (exit 1): the message says which file and why."""


def is_url(target: str) -> bool:
    return "://" in target


def local_path(target: str) -> Path | None:
    """The folder a `file://` URL names (None for other URLs)."""
    parts = urlsplit(target)
    if parts.scheme != "file":
        return None
    from urllib.parse import unquote

    return Path(unquote(parts.path))


def _context(cafile: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cafile or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx  # check_hostname and CERT_REQUIRED stay on: never disabled


def _get(url: str, ctx: ssl.SSLContext, dest: Path, budget: list[int]) -> None:
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=TIMEOUT) as resp:  # noqa: S310 - https only, checked by fetch
            dest.parent.mkdir(parents=True, exist_ok=True)
            size = 0
            with dest.open("wb") as out:
                while chunk := resp.read(1 << 16):
                    size += len(chunk)
                    budget[0] -= len(chunk)
                    if size > MAX_FILE or budget[0] < 0:
                        raise MirrorError(f"{url}: larger than this check accepts "
                                          f"({MAX_FILE >> 20} MiB a file, {MAX_TOTAL >> 30} "
                                          "GiB in all)")
                    out.write(chunk)
    except urllib.error.HTTPError as exc:
        raise MirrorError(f"{url}: the mirror answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise MirrorError(f"{url}: could not fetch it ({reason}). A mirror on a private CA: "
                          "--ca-file FILE (or TEMOIN_CA_FILE)") from exc


def fetch(url: str, dest: Path, cafile: str | None = None) -> Path:
    """Download the mirror at `url` (https://…/) into `dest`; returns `dest`."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise MirrorError(f"{url}: only https:// mirrors are fetched (or a local copy: a "
                          "folder or a file:// URL); cleartext could be altered on the way")
    base = url if url.endswith("/") else url + "/"
    ctx = _context(cafile)
    budget = [MAX_TOTAL]
    for name in (manifest.SUMS, manifest.SIG):
        _get(base + name, ctx, dest / name, budget)
    try:
        entries, problems = manifest.parse((dest / manifest.SUMS).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise MirrorError(f"{base}{manifest.SUMS}: not UTF-8 text") from exc
    if problems:
        raise MirrorError(f"{base}{manifest.SUMS}: " + "; ".join(problems[:5]))
    for rel in sorted(entries):
        _get(base + quote(rel), ctx, dest / rel, budget)
    return dest
