"""Encryption to the editors for what the repository must not show: unpublished cases, the
custody log's entries and the case-id secret (issue 16, items 4 and 5).

A `Vault` is a keyring and the recipients (the editors of the signed trust root): `seal`
signs (as `signer`: by default the first editor whose secret key is here) then encrypts, in
process where pysequoia can (`keys.Sealer`), as confidential parts are (issue 16: anyone
holding the editors' public keys can encrypt a file to them). `open_checked` and
`open_checked_many` decrypt and judge the inner signature in the same gpg run (one for many
files: `Keyring.decrypt_many_status`), refusing a file not signed by a current editor or the
intake key of the trust root (`keys.signers`); only `temoin migrate` reads an unsigned one,
to sign it. `open_many` decrypts without judging (migrate, and the custody log's entries,
which the online fetch side writes without any secret key). `for_repo` finds both transparently:
the keyring of $GNUPGHOME, else (a machine with no GnuPG home, such as the online fetch
side) a throwaway keyring of `keys/editors/*.asc` that can only encrypt.

Case ids are `cases.new_id` of an HMAC-SHA256 of the submission's hash, keyed with 32
random bytes kept in `keys/id-secret.asc`, encrypted to the editors: the same submission
always gets the same id (ingest stays idempotent), and nobody without an editor key can
compute the id of a message they hold.

`load_doc`/`save_doc`: a cache document (JSON) kept as one message encrypted to the
editors, read into memory only (the canaries, the sealed cases).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.errors import CryptoError
from temoin.files import read_key_file, write_atomic

if TYPE_CHECKING:
    from temoin.cache import CacheFile
    from temoin.keys import Keyring, Sealer
    from temoin.keys.signers import Opened, Signers

ID_SECRET = "keys/id-secret.asc"  # noqa: S105 - a path; the secret in it is encrypted
_ID_LABEL = b"temoin case id v1\0"


class Vault:
    """Encrypt to the editors, decrypt in bulk (see the module docstring)."""

    def __init__(self, keyring: Keyring, recipients: Iterable[str],
                 signer: str | None = None) -> None:
        self.keyring = keyring
        self.recipients = list(recipients)
        self.signer = signer  # who signs what `seal` seals; None: found on first use
        self._looked = signer is not None
        self._sealer: Sealer | None = None
        self._signed: dict[str, Sealer] = {}
        self._id_key: bytes | None = None

    @property
    def sealer(self) -> Sealer:
        if self._sealer is None:
            self._sealer = self.keyring.sealer(self.recipients)
        return self._sealer

    def signing_key(self) -> str | None:
        """`signer`, else the first editor (recipient) whose secret key is in this keyring
        and can sign; None when there is none (a public keyring: the online fetch side)."""
        if not self._looked:
            self._looked = True
            self.signer = next((f for f in self.recipients if self.keyring.has_secret(f)
                                and not self.keyring.unfit(f, "s")), None)
        return self.signer

    def _signing(self, what: str) -> str:
        signer = self.signing_key()
        if signer is None:
            raise CryptoError(f"{what} is signed by an editor (or the intake) before it is "
                              f"encrypted, and no editor secret key that can sign is in "
                              f"{self.keyring.home}: import yours, or set GNUPGHOME")
        return signer

    def seal(self, data: bytes, what: str = "a sealed file") -> bytes:
        """Armored OpenPGP message of `data`, signed by `signer` then encrypted to every
        editor (uncompressed: see custody); CryptoError when nothing here can sign."""
        return self.seal_signed_many([data], self._signing(what))[0]

    def seal_many(self, items: Iterable[bytes], what: str = "a sealed file") -> list[bytes]:
        return self.seal_signed_many(items, self._signing(what))

    def seal_entry(self, data: bytes) -> bytes:
        """A custody entry: signed when a key here can sign (editors, ingest), else only
        encrypted (the online fetch side holds no secret key)."""
        signer = self.signing_key()
        if signer is None:
            return self.sealer.encrypt_many([data])[0]
        return self.seal_signed_many([data], signer)[0]

    def open_many(self, blobs: Iterable[bytes]) -> list[bytes | None]:
        """Plaintext of each message (None where this keyring cannot decrypt it)."""
        return self.keyring.decrypt_many(blobs)

    def seal_signed_many(self, items: Iterable[bytes], signer: str) -> list[bytes]:
        """Each item signed by `signer`, then encrypted to every editor (a confidential
        part: see `keys.signers`)."""
        if signer not in self._signed:
            self._signed[signer] = self.keyring.sealer(self.recipients, signer)
        return self._signed[signer].encrypt_many(items)

    def open_signed_many(self, blobs: Iterable[bytes], signers: Signers,
                         max_output: int = 4 * 1024 * 1024,
                         timeout: float = 300.0) -> list[Opened]:
        """Each message decrypted and its inner signature judged by `signers`, all with
        one gpg process: the signature checked in process (`keys.inline`), else read from
        the decryption's own status lines."""
        from temoin.keys import inline
        from temoin.keys.signers import Opened

        items = list(blobs)
        if not items:
            return []  # no verification keyring made for nothing
        # One gpg run decrypts them all, their signatures checked in process (`keys.inline`);
        # what that cannot vouch for is opened as before: gpg decrypts and verifies.
        out = inline.open_signed(self.keyring, items, signers, max_output, timeout)
        rest = [n for n, one in enumerate(out) if one is None]
        if rest:
            found = self.keyring.decrypt_many_status([items[n] for n in rest], max_output,
                                                     timeout, extra=signers.extra_args())
            for n, (plain, st, why) in zip(rest, found, strict=True):
                out[n] = Opened(plain, signers.judge(st), why)
        return [one for one in out if one is not None]

    def open(self, blob: bytes, where: str) -> bytes:
        """Decrypt without judging a signature (`temoin migrate` reads unsigned files)."""
        res = self.keyring.decrypt(blob)
        if not res.ok:
            raise CryptoError(f"{where}: cannot decrypt ({res.reason}); is your editor "
                              "secret key in GNUPGHOME?")
        return res.plaintext

    def open_checked(self, blob: bytes, where: str, repo: Path,
                     signers: Signers | None = None) -> bytes:
        """Decrypt and judge the inner signature in one gpg run: CryptoError naming `where`,
        the signer found and the fix unless a current editor or the intake key signed it."""
        from temoin.keys import signers as signers_mod

        with signers_mod.ensure(signers, Path(repo)) as judge:
            res = self.keyring.decrypt(blob, extra=judge.extra_args())
            signature = judge.judge(res.status)
        if not res.ok:
            raise CryptoError(f"{where}: cannot decrypt ({res.reason}); is your editor "
                              "secret key in GNUPGHOME?")
        if not signature.ok:
            raise CryptoError(refused(where, signature.problem))
        return res.plaintext

    def open_checked_many(self, blobs: Iterable[bytes], wheres: Iterable[str], repo: Path,
                          signers: Signers | None = None) -> list[tuple[bytes | None, str]]:
        """`open_checked` of many files with one gpg run: (plaintext, "") or (None, why)."""
        from temoin.keys import signers as signers_mod

        items, names = list(blobs), list(wheres)
        if not items:
            return []
        with signers_mod.ensure(signers, Path(repo)) as judge:
            opened = self.open_signed_many(items, judge)
        out: list[tuple[bytes | None, str]] = []
        for where, one in zip(names, opened, strict=True):
            if one.plaintext is None:
                out.append((None, f"{where}: cannot decrypt; is your editor secret key in "
                                  "GNUPGHOME?"))
            elif not one.signature.ok:
                out.append((None, refused(where, one.signature.problem)))
            else:
                out.append((one.plaintext, ""))
        return out

    # -- case ids ---------------------------------------------------------------------------
    # The id secret is signed by its writer, like a private part (issue 16, attack round 3):
    # encrypted only, anyone with the editors' public keys replaced it with a secret of
    # their own, and then computed the id (and evidence names) of every message ingested
    # after from the raw message.
    def id_key(self, repo: Path, signer: str | None = None, unsigned: bool = False) -> bytes:
        """The HMAC key of case ids, from `keys/id-secret.asc`: refused unless signed by a
        current editor or the inbox key of the trust root (`unsigned`: read one an earlier
        version wrote, for `temoin migrate` to sign). Made on first use, signed by `signer`
        (default: the inbox key, else an editor key held here)."""
        if self._id_key is None or unsigned:
            path = Path(repo) / ID_SECRET
            if path.exists():
                key = self._read_id_key(Path(repo), unsigned)
            else:
                key = secrets.token_bytes(32)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, self._seal_id(Path(repo), key, signer), mode=0o644)
            if unsigned:
                return key
            self._id_key = key
        return self._id_key

    def id_key_unsigned(self, repo: Path) -> bool:
        """Whether `keys/id-secret.asc` decrypts here but nobody the trust root names signed
        it (an earlier version wrote it unsigned: `temoin migrate` signs it)."""
        if not (Path(repo) / ID_SECRET).exists():
            return False
        try:
            self._read_id_key(Path(repo), False)
        except CryptoError:
            self._read_id_key(Path(repo), True)  # raises when it does not even decrypt
            return True
        return False

    def sign_id_key(self, repo: Path, editor: str) -> None:
        """Write `keys/id-secret.asc` again, the same secret, signed by `editor`."""
        key = self._read_id_key(Path(repo), True)
        write_atomic(Path(repo) / ID_SECRET, self._seal_id(Path(repo), key, editor),
                     mode=0o644)
        self._id_key = key

    def _seal_id(self, repo: Path, key: bytes, signer: str | None) -> bytes:
        return self.seal_signed_many([key.hex().encode("ascii") + b"\n"],
                                     signer or _id_signer(repo, self.keyring))[0]

    def _read_id_key(self, repo: Path, unsigned: bool) -> bytes:
        from temoin.keys import signers as signers_mod

        with signers_mod.ensure(None, repo) as judge:
            res = self.keyring.decrypt((repo / ID_SECRET).read_bytes(),
                                       extra=judge.extra_args())
            signature = judge.judge(res.status)
        if not res.ok:
            raise CryptoError(f"{ID_SECRET}: cannot decrypt ({res.reason}); is your editor "
                              "secret key in GNUPGHOME?")
        if not unsigned and not signature.ok:
            raise CryptoError(
                f"{ID_SECRET}: refused: {signature.problem}. Whoever replaced the case-id "
                "secret computes the id of every message ingested after it. Fix: restore it "
                f"from a copy you trust (`git log -- {ID_SECRET}`: one commit, when the "
                "first message came in), or, if an earlier version wrote it unsigned, sign "
                "it with `temoin migrate`")
        try:
            key = bytes.fromhex(res.plaintext.strip().decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            key = b""
        if len(key) != 32:
            raise CryptoError(f"{ID_SECRET}: not 32 bytes in hex; restore it from "
                              "the repository's history")
        return key

    def existing_id_key(self, repo: Path) -> bytes | None:
        """`id_key` when `keys/id-secret.asc` exists, else None (nothing is written: for
        readers such as the build, which writes nothing in the repository)."""
        return self.id_key(repo) if (Path(repo) / ID_SECRET).exists() else None

    def id_seed(self, repo: Path, submission_sha256: str) -> bytes:
        """The seed of a submission's case id: HMAC-SHA256(id key, its sha256)."""
        return hmac.new(self.id_key(repo), _ID_LABEL + bytes.fromhex(submission_sha256),
                        hashlib.sha256).digest()


def refused(where: str, problem: str) -> str:
    """Why a sealed file or confidential part is refused, and the way out."""
    return f"{where}: refused: {problem}. Fix: {fix(where)}"


def fix(where: str) -> str:
    """The way out of a refused sealed file or confidential part."""
    return (f"restore it from a copy you trust (`git log -- {where}`), or, if an editor wrote "
            "it before such files were signed (or with a key the trust root no longer names), "
            "read it and sign it as yours with `temoin migrate`")


def _id_signer(repo: Path, keyring: Keyring) -> str:
    """Who signs a new id secret: the inbox key when it can sign here (ingest), else an
    editor key held here."""
    from temoin import config

    cfg = config.load(repo)
    for fpr in [cfg.inbox_key, *cfg.recipient_fingerprints]:
        if fpr and keyring.has_secret(fpr) and not keyring.unfit(fpr, "s"):
            return fpr
    raise CryptoError(f"{ID_SECRET} is signed by its writer, but neither the inbox key nor "
                      f"an editor key can sign in {keyring.home}")


_VAULTS: dict[tuple[str, str, tuple[str, ...]], Vault] = {}


def for_repo(repo: Path, keyring: Keyring | None = None,
             recipients: Iterable[str] | None = None) -> Vault:
    """The vault of `repo`: `keyring` (else $GNUPGHOME's, else a public keyring of
    keys/editors/) and `recipients` (else the configured editors). One per process and
    (repo, GNUPGHOME, recipients): the pysequoia certificates are made once."""
    if recipients is None:
        from temoin import config

        recipients = config.load(Path(repo)).recipient_fingerprints
    rcpts = tuple(recipients)
    if keyring is not None:
        return Vault(keyring, rcpts)
    home = os.environ.get("GNUPGHOME", "")
    memo = (str(Path(repo).resolve()), home, rcpts)
    if memo not in _VAULTS:
        from temoin import keys

        kr = keys.open_keyring() if home else _public_keyring(Path(repo))
        _VAULTS[memo] = Vault(kr, rcpts)
    return _VAULTS[memo]


def _remove_home(home: str) -> None:
    subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True,
                   check=False)
    shutil.rmtree(home, ignore_errors=True)


def forget() -> None:
    """Drop every vault made by `for_repo` and remove its throwaway keyring and agent (done
    at exit anyway; a long-lived process, such as a test run, calls it when it is done)."""
    for vault in _VAULTS.values():
        home = str(vault.keyring.home)
        if Path(home).name.startswith("temoin-seal-"):
            _remove_home(home)
    _VAULTS.clear()


def _public_keyring(repo: Path) -> Keyring:
    """A keyring of the editors' public keys only, removed when the process ends. Key files
    are read as plain files only: a link under keys/ is never followed."""
    from temoin import keys

    base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (RAM, mkdtemp 0700)
    home = tempfile.mkdtemp(prefix="temoin-seal-", dir=base)
    atexit.register(_remove_home, home)
    kr = keys.Keyring(home)
    for f in sorted((repo / "keys" / "editors").glob("*.asc")):
        if f.is_file() and not f.is_symlink():
            kr.import_keys(read_key_file(f, CryptoError) or b"")
    return kr


def load_doc(file: CacheFile | None, keyring: Keyring, max_output: int) -> dict[str, Any]:
    """The JSON object a cache file holds encrypted to the editors; {} when there is none,
    or it does not authenticate, decrypt (within `max_output` bytes) or parse as one."""
    data = file.load() if file is not None else None
    if data is None:
        return {}
    res = keyring.decrypt(data, max_output=max_output)
    if not res.ok:
        return {}
    try:
        doc = json.loads(res.plaintext)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def save_doc(file: CacheFile, keyring: Keyring, recipients: list[str],
             doc: dict[str, Any]) -> None:
    """`doc` saved in `file` encrypted to `recipients`; nothing saved when this keyring
    cannot encrypt to every one of them (no cache, never plaintext)."""
    data = json.dumps(doc, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")
    try:
        data = keyring.encrypt(data, recipients)
    except CryptoError:
        return
    file.save(data)
