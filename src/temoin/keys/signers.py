"""Who may have written a confidential part (issue 16): sign then encrypt, judged on reading.

A private part or an evidence file is an OpenPGP message encrypted to the editors and, inside,
signed by whoever wrote it: the inbox key when ingest wrote it (it came in through our
intake), an editor's key when an editor wrote or changed it. Anyone holding the editors'
public keys can encrypt a file to them; only a signature says who wrote it.

Reading one decrypts and verifies in the same gpg run (`Keyring.decrypt_many_status`, or
`Keyring.decrypt` for one file): gpg is given `extra_args`, a `--keyring` of the key files of
keys/ that the signed trust root names, so a signature by another editor or by the inbox key
verifies even when GNUPGHOME lacks that public key. `Signers.judge` then reads what gpg said
of the signature: exactly one signature, good, by a key the trust root names NOW (an editor
of its roster or its inbox key), made before the revocation and expiry of that key (and of its
signing subkey) as its file in keys/ records them (what GNUPGHOME thinks of the key does not
count), with no weak hash. Anything else is a refusal, said in words (`Signature.problem`),
never a silent pass.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.errors import CryptoError
from temoin.files import read_key_file
from temoin.keys import packets, verify

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.keys import Keyring

_SIG_WORDS = ("GOODSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "BADSIG", "ERRSIG")


@dataclass(frozen=True)
class Signature:
    """What a confidential part's inner signature amounts to."""

    signer: str = ""            # primary fingerprint of the one good signature ("" if none)
    made: int | None = None     # when it was made (seconds since the epoch), as gpg read it
    problem: str = ""           # "" when it counts; else why not (no plaintext, no value)

    @property
    def ok(self) -> bool:
        return not self.problem and bool(self.signer)


@dataclass(frozen=True)
class Opened:
    """One confidential part decrypted in memory: its plaintext (None when it did not
    decrypt) and its inner signature."""

    plaintext: bytes | None
    signature: Signature
    reason: str = ""            # why it did not decrypt, in gpg's words (one line)


class Signers:
    """The keys whose signature makes a confidential part ours: {fingerprint: role}
    ("editor", "inbox"), and the key files that hold them (see the module docstring).
    The verification keyring is made on first use and removed by `close`."""

    def __init__(self, allowed: Mapping[str, str], key_files: Iterable[Path]) -> None:
        self.allowed = {str(f).upper(): role for f, role in allowed.items()}
        self.key_files = [Path(f) for f in key_files]
        self._ctx: Any = None
        self._kr: Keyring | None = None
        self._certs: dict[str, verify.Cert] | None = None
        self._checker: tuple[verify.Checker | None] | None = None  # (None): no Sequoia

    @classmethod
    def for_repo(cls, repo: Path, cfg: Config | None = None) -> Signers:
        """The editors and inbox key of the (signed) settings of `repo`, with their files in
        keys/ (regular files only: a link under keys/ is never followed)."""
        from temoin import config

        cfg = cfg or config.load(Path(repo))
        allowed = {f: "editor" for f in cfg.recipient_fingerprints}
        if cfg.inbox_key:
            allowed.setdefault(cfg.inbox_key, "inbox")
        keys_dir = Path(repo) / "keys"
        files = [*sorted((keys_dir / "editors").glob("*.asc")), keys_dir / "inbox.asc"]
        return cls(allowed, [f for f in files if f.is_file() and not f.is_symlink()])

    def digest(self) -> str:
        """sha256 of who may sign and of their key files: a judgment made under the same
        digest holds (a cache of parts judged keeps it beside each entry)."""
        h = hashlib.sha256()
        for fpr, role in sorted(self.allowed.items()):
            h.update(f"{fpr}:{role}\n".encode())
        for f in sorted(self.key_files):
            with contextlib.suppress(OSError):
                h.update(hashlib.sha256(read_key_file(f, CryptoError) or b"").digest())
        return h.hexdigest()

    def keyring(self) -> Keyring:
        if self._kr is None:
            from temoin import keys

            self._ctx = keys.public_keyring(self.key_files)
            self._kr = self._ctx.__enter__()
        assert self._kr is not None
        return self._kr

    def extra_args(self) -> list[str]:
        """gpg options that let a decryption verify signatures by any of these keys."""
        home = self.keyring().home
        ring = next((p for p in (home / "pubring.kbx", home / "pubring.gpg") if p.is_file()),
                    None)
        return ["--keyring", str(ring)] if ring is not None else []

    def _listed(self, primary: str) -> bool:
        if self._certs is None:
            self._certs = verify.listing(self.keyring().home)
        return primary in self._certs

    def _counts(self, primary: str, signing: str, made: int) -> bool:
        """Whether a signature made at `made` by `signing` (the primary key `primary` or one
        of its subkeys) came before the end — expiry or revocation — of the primary and of
        that subkey, as the key files of keys/ record them (one listing of them)."""
        cert = (self._certs or {}).get(primary)
        key = cert.key(signing) if cert is not None else None
        if cert is None or key is None:
            return False
        ends = [k.end for k in {id(cert.primary): cert.primary, id(key): key}.values()
                if k.end is not None]
        return not ends or made < min(ends)

    def checker(self) -> verify.Checker | None:
        """The key files read once for Sequoia (`verify.Checker`), or None without it."""
        if self._checker is None:
            self._checker = (verify.Checker.load(self.keyring().home),)
            if self._checker[0] is not None and self._certs is None:
                self._certs = self._checker[0].certs  # the same listing `judge` reads
        return self._checker[0]

    def judge_inline(self, data: bytes, sig: packets.Signature) -> Signature | None:
        """`judge`'s verdict on a good signature `sig` over `data` (the message inside a
        confidential part, `packets.inline_signed`), reached in process; None for anything
        else, which gpg then judges as before: a signature Sequoia does not find good by a
        key of keys/ fit to sign (`Checker.signed_by`), by a key the trust root does not
        name now, or made after that key's revocation or expiry as keys/ records them."""
        checker = self.checker()
        found = checker.signed_by(data, sig) if checker is not None else None
        if found is None:
            return None
        cert, key = found
        fpr = cert.primary.fpr
        if fpr not in self.allowed or not self._listed(fpr) \
                or not self._counts(fpr, key.fpr, sig.created):
            return None
        return Signature(fpr, sig.created)

    def judge(self, status: Mapping[str, list[str]]) -> Signature:
        """The signature gpg reported in `status` (one file's status lines), judged."""
        count = len(status.get("NEWSIG") or []) or sum(len(status.get(w) or [])
                                                        for w in _SIG_WORDS)
        if count == 0:
            return Signature(problem="not signed (anyone holding the editors' public keys can "
                             "encrypt a file to them)")
        if count > 1:
            return Signature(problem=f"{count} signatures where one is expected, by the "
                             "editor or the intake that wrote it")
        if status.get("BADSIG"):
            return Signature(problem="bad signature: changed after it was signed")
        valid = (status.get("VALIDSIG") or [""])[0].split()
        if len(valid) < 10:
            errsig = (status.get("ERRSIG") or [""])[0].split()
            who = (errsig[6] if len(errsig) > 6 and errsig[6] != "-" else
                   errsig[0] if errsig else "an unknown key")
            return Signature(problem=f"signed by {who}, a key that is neither an editor's nor "
                             "the inbox key of the signed trust root")
        fpr, made = valid[9].upper(), verify._epoch(valid[2])
        if fpr not in self.allowed:
            return Signature(fpr, made, f"signed by {fpr}, a key that is neither an editor's "
                             "nor the inbox key of the signed trust root")
        if status.get("EXPSIG"):
            return Signature(fpr, made, f"signed by {fpr} with a signature that has expired")
        if verify._weak(status["VALIDSIG"][0]):
            return Signature(fpr, made, f"signed by {fpr} with a weak hash (MD5, SHA-1)")
        if not self._listed(fpr):
            return Signature(fpr, made, f"signed by {fpr}, whose key is not in keys/ (its "
                             "revocation and expiry cannot be read): restore its key file")
        if made is None or not self._counts(fpr, valid[0].upper(), made):
            return Signature(fpr, made, f"signed by {fpr} after that key's revocation or "
                             "expiry (as keys/ records it)")
        return Signature(fpr, made)

    def close(self) -> None:
        if self._ctx is not None:
            with contextlib.suppress(Exception):
                self._ctx.__exit__(None, None, None)
            self._ctx = self._kr = None

    def __enter__(self) -> Signers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def ensure(signers: Signers | None, repo: Path) -> Iterator[Signers]:
    """`signers`, else those of `repo` for the time of the block (closed after it)."""
    if signers is not None:
        yield signers
        return
    with Signers.for_repo(repo) as made:
        yield made
