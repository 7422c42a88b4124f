"""The case id a submission gets, and the remains a crashed ingest left in its folder."""

from __future__ import annotations

from pathlib import Path

from temoin import cases
from temoin.config import Config
from temoin.errors import TemoinError
from temoin.intake.inbox import Index
from temoin.keys import Keyring, vault


def case_id_for(repo: Path, cfg: Config, sha: str, year: int, index: Index,
             keyring: Keyring, sealed: vault.Vault) -> str:
    """The submission's id: from an HMAC of its hash keyed with the editors' id secret, so
    the same file always gets the same id but nobody holding the file can compute it."""
    taken = index.taken_for(sha)
    seed = sealed.id_seed(repo, sha)
    while True:
        cid = cases.new_id(cfg.case_prefix, year, seed, taken)
        if not cases.case_dir(repo, cid).exists() or _ours(repo, cid, sha, keyring):
            return cid
        taken.add(cid)


def _ours(repo: Path, cid: str, sha: str, keyring: Keyring) -> bool:
    """Is the unclaimed folder `cid` what a crashed ingest of `sha` left? We write the
    private part before case.md, so a case.md without one is someone else's."""
    folder = cases.case_dir(repo, cid)
    if not cases.private_path(repo, cid).exists():
        return cases.stored_file(folder) is None
    try:
        data = cases.read_private(repo, cid, keyring)
    except TemoinError:
        return True  # unreadable here, unclaimed in custody: a crash of ours is likeliest
    subs = (data.get("intake") or {}).get("submissions") or []
    return any(isinstance(s, dict) and s.get("sha256") == sha for s in subs)


def clean_stale(folder: Path) -> None:
    """Remove half-written temporary files a killed write_atomic left (ciphertext or public
    text, never plaintext) so a completed case folder holds only its real files."""
    for d in (folder, folder / "evidence"):
        if d.is_dir():
            for p in d.glob(".*.tmp"):
                p.unlink(missing_ok=True)
