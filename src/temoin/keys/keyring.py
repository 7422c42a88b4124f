"""One GnuPG home directory and everything Témoin asks of it: list, import, export and
generate keys, judge whether a key is fit for a role, encrypt, sign and verify."""

from __future__ import annotations

import builtins
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import gnupg

from temoin import tmpfs
from temoin.errors import ConfigError, CryptoError, TemoinError
from temoin.files import MAX_KEY_FILE, read_bounded
from temoin.keys import decrypt as decryption
from temoin.keys import verify
from temoin.keys.decrypt import Decrypted
from temoin.keys.gpg import (
    AGENT_CONF,
    BASE_OPTIONS,
    MIN_GPG,
    _first_error,
    _status_lines,
    gpg_version,
    passphrase_from_env,
)
from temoin.keys.sequoia import Sealer

# python-gnupg logs gpg's stderr at debug level; keep it quiet unless asked.
logging.getLogger("gnupg").setLevel(logging.ERROR)


@dataclass(frozen=True)
class KeyInfo:
    fingerprint: str
    uids: tuple[str, ...]
    algo: str
    length: int
    created: str
    expires: str
    secret: bool
    subkeys: tuple[str, ...] = ()


class Keyring:
    """A GnuPG home directory and the options every call uses."""

    def __init__(self, gnupghome: str | os.PathLike[str] | None = None,
                 passphrase: str | None = None) -> None:
        home = gnupghome or os.environ.get("GNUPGHOME")
        if not home:
            raise ConfigError("no GnuPG home: set GNUPGHOME or pass --gnupghome (Témoin never "
                              "falls back to ~/.gnupg by accident)")
        self.home = Path(home)
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        conf = self.home / "gpg-agent.conf"
        if not conf.exists():
            conf.write_text(AGENT_CONF)
        if gpg_version() < MIN_GPG:
            raise CryptoError("GnuPG older than 2.2.8 lacks the EFAIL fixes; upgrade gnupg")
        self.passphrase = passphrase
        self.gpg = gnupg.GPG(gnupghome=str(self.home), options=list(BASE_OPTIONS))
        self.gpg.encoding = "utf-8"
        self._checker: tuple[verify.Stamp, verify.Checker | None] | None = None
        self._checker_lock = threading.Lock()

    # -- keys ---------------------------------------------------------------------------
    def list(self, secret: bool = False) -> list[KeyInfo]:
        out = []
        for k in self.gpg.list_keys(secret=secret):
            out.append(KeyInfo(
                fingerprint=k["fingerprint"], uids=tuple(k.get("uids") or ()),
                algo=str(k.get("algo", "")), length=int(k.get("length") or 0),
                created=str(k.get("date", "")), expires=str(k.get("expires", "")),
                secret=secret, subkeys=tuple(s[2] for s in k.get("subkeys", []) if len(s) > 2),
            ))
        return out

    def unfit(self, fingerprint: str, needs: str) -> builtins.list[str]:
        """Why the public key `fingerprint` cannot serve a role needing the capabilities in
        `needs` ("e" encrypt, "s" sign): revoked, expired, no usable subkey for one of them,
        or RSA/DSA/ElGamal under 2048 bits. Empty when it can."""
        found = [k for k in self.gpg.list_keys(keys=[fingerprint])
                 if k.get("fingerprint") == fingerprint]
        if not found:
            return [f"no public key {fingerprint} in {self.home}"]
        k = found[0]
        why = []
        validity = str(k.get("trust", ""))
        if validity == "r":
            why.append("it is revoked")
        elif validity == "e":
            why.append("it has expired")
        # Upper-case letters in the primary key's capability field are what the key as a
        # whole can still do (counting only valid subkeys).
        usable = {c.lower() for c in str(k.get("cap", "")) if c.isupper()}
        names = {"e": "encrypt", "s": "sign"}
        why += [f"it has no valid subkey that can {names[c]}" for c in needs if c not in usable]
        algo, length = str(k.get("algo", "")), int(k.get("length") or 0)
        if algo in ("1", "2", "3", "16", "17", "20") and length < 2048:
            why.append(f"its {length}-bit key is too weak (2048 bits at least)")
        return why if validity not in ("r", "e") else why[:1]

    def has_secret(self, fingerprint: str) -> bool:
        return any(k.fingerprint == fingerprint for k in self.list(secret=True))

    def import_keys(self, data: bytes | str) -> builtins.list[str]:
        """Import keys; return the primary fingerprints imported (public or secret)."""
        res = self.gpg.import_keys(data, extra_args=["--import-options", "import-clean"])
        fprs = sorted({r["fingerprint"] for r in res.results if r.get("fingerprint")})
        if not fprs:
            raise CryptoError("no OpenPGP key found in that file (is it an armored key block?)")
        return fprs

    def export_public(self, fingerprint: str) -> str:
        data = self.gpg.export_keys(fingerprint, armor=True, minimal=True)
        if not data:
            raise CryptoError(f"no public key {fingerprint} in {self.home}")
        return str(data)

    def export_secret(self, fingerprint: str) -> str:
        data = self.gpg.export_keys(fingerprint, secret=True, armor=True,
                                    passphrase=self.passphrase or "")
        if not data:
            raise CryptoError(f"cannot export secret key {fingerprint} (wrong passphrase?)")
        return str(data)

    def generate(self, name: str, email: str, algo: str = "ed25519",
                 passphrase: str | None = None, expire: str = "0") -> str:
        """Create a key (ed25519 signing + cv25519 encryption, or RSA-4096); return its fpr."""
        pw = passphrase if passphrase is not None else self.passphrase
        uid = f"{name} <{email}>" if email else name
        if algo == "ed25519":
            algos = [("ed25519", "sign,cert"), ("cv25519", "encr")]
        elif algo in ("rsa4096", "rsa"):
            algos = [("rsa4096", "sign,cert"), ("rsa4096", "encr")]
        else:
            raise ConfigError(f"key algorithm: expected ed25519 or rsa4096, got {algo!r}")
        # The passphrase goes through a pipe: a command line is readable by every user.
        if pw and any(c in pw for c in "\n\r\0"):
            raise ConfigError("the passphrase holds a newline, CR or NUL; gpg would read a "
                              "different one")
        pw_args = ["--passphrase-fd", "0"] if pw else ["--passphrase", ""]
        data = (pw.encode("utf-8") + b"\n") if pw else b""
        res = self._run(["--quick-generate-key", uid, algos[0][0], algos[0][1], expire],
                        data=data, extra=pw_args)
        m = re.search(r"KEY_CREATED \w ([0-9A-F]{40,64})", res.stderr)
        if not m:
            raise CryptoError("gpg could not generate the key")
        fpr = m.group(1)
        self._run(["--quick-add-key", fpr, algos[1][0], algos[1][1], expire], data=data,
                  extra=pw_args)
        return fpr

    def _run(self, args: builtins.list[str], data: bytes = b"",
             extra: builtins.list[str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run gpg directly (for commands python-gnupg does not wrap), checking the exit code."""
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--status-fd", "2", *BASE_OPTIONS,
               *(extra or []), *args]
        p = subprocess.run(cmd, input=data, capture_output=True, check=False)
        out = subprocess.CompletedProcess(cmd, p.returncode, p.stdout.decode("utf-8", "replace"),
                                          p.stderr.decode("utf-8", "replace"))
        if p.returncode != 0:
            raise CryptoError(f"gpg {args[0]} failed: {_first_error(out.stderr)}")
        return out

    # -- encryption -----------------------------------------------------------------------
    def encrypt(self, data: bytes, recipients: Iterable[str], armor: bool = True,
                sign: str | None = None, compress: bool = True) -> bytes:
        """Encrypt `data` to every fingerprint in `recipients` (configured, so trusted);
        `compress=False` for padded data (`temoin.padding`: compression shrinks padding)."""
        rcpts = list(recipients)
        if not rcpts:
            raise CryptoError("no recipients to encrypt to: add editor keys with "
                              "`temoin keys import FILE --as editor`")
        res = self.gpg.encrypt(data, rcpts, armor=armor, always_trust=True, sign=sign,
                               passphrase=self.passphrase if sign else None,
                               extra_args=["--compress-algo", "none"]
                               if not (armor and compress) else None)
        if res.ok and sign and "SIG_CREATED" not in (res.stderr or ""):
            raise CryptoError(f"signing with {sign} failed: is its secret key in {self.home} "
                              "(and TEMOIN_PASSPHRASE_FILE right)?")
        if not res.ok:
            raise CryptoError(f"encryption failed ({res.status}); is every recipient's public "
                              "key imported and unexpired?")
        return bytes(res.data)

    def encrypt_many(self, items: Iterable[bytes], recipients: Iterable[str],
                     signer: str | None = None) -> builtins.list[bytes]:
        """Armored encryption of each item to every fingerprint in `recipients`, in memory,
        signed first by `signer` when given (sign then encrypt: the signature is inside),
        uncompressed as Sequoia's (sealed custody entries and parts are padded).

        gpg is run directly, one process per item, one after the other: python-gnupg's
        reader threads and status parsing cost more Python CPU per call than the call
        itself, and (measured on 2 busy cores) running the processes side by side was
        slower, not faster. Same checks as `encrypt`: a zero exit code and gpg's
        END_ENCRYPTION status (and SIG_CREATED when signing), else CryptoError."""
        rcpts = list(recipients)
        if not rcpts:
            raise CryptoError("no recipients to encrypt to: add editor keys with "
                              "`temoin keys import FILE --as editor`")
        pw = self.passphrase if signer else None
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--status-fd", "2",
               *BASE_OPTIONS, "--trust-model", "always", "--armor", "--compress-algo", "none",
               *(a for r in rcpts for a in ("--recipient", r)),
               *(["--local-user", signer, "--sign"] if signer else []),
               *(["--passphrase-fd", "0"] if pw else []), "--encrypt"]
        out = []
        for item in items:
            data = (pw.encode("utf-8") + b"\n" if pw else b"") + bytes(item)
            p = subprocess.run(cmd, input=data, capture_output=True, check=False)
            st = _status_lines(p.stderr.decode("latin-1"))
            if p.returncode != 0 or "END_ENCRYPTION" not in st or not p.stdout or (
                    signer and "SIG_CREATED" not in st):
                why = " ".join(k for k in ("INV_RECP", "INV_SGNR", "FAILURE", "ERROR")
                               if k in st)
                raise CryptoError(f"encryption failed ({why or f'gpg exit {p.returncode}'}); "
                                  "is every recipient's public key imported and unexpired"
                                  + (f", and the secret key of {signer} here?" if signer
                                     else "?"))
            out.append(p.stdout)
        return out

    def sealer(self, recipients: Iterable[str], signer: str | None = None) -> Sealer:
        """An `encrypt_many` to fixed recipients (signed by `signer`) for one run (see
        `Sealer`)."""
        return Sealer(self, list(recipients), signer)

    def decrypt(self, data: bytes, max_output: int = 64 * 1024 * 1024,
                timeout: float = 300.0, extra: Sequence[str] = ()) -> Decrypted:
        """Decrypt with every EFAIL-era check; never raises for a bad message (see
        `temoin.keys.decrypt.decrypt`)."""
        return decryption.decrypt(self.home, self.passphrase, data, max_output, timeout, extra)

    def decrypt_many(self, items: Iterable[bytes], max_output: int = 4 * 1024 * 1024,
                     timeout: float = 300.0, retry: bool = True
                     ) -> builtins.list[bytes | None]:
        """Decrypt many small messages of our own (encrypted drafts, sealed custody entries)
        with one gpg process: each item's plaintext, or None where it failed (see
        `decrypt_many_status`)."""
        return [plain for plain, _st, _why in self.decrypt_many_status(
            items, max_output, timeout, retry=retry)]

    def decrypt_many_status(self, items: Iterable[bytes], max_output: int = 4 * 1024 * 1024,
                            timeout: float = 300.0, extra: Sequence[str] = (),
                            retry: bool = True
                            ) -> builtins.list[Many]:
        """Each item's plaintext (None where it failed), gpg's status lines for it (what it
        says of a signature inside: `keys.signers` judges them) and, where it failed alone,
        gpg's reason in one line: with one gpg process.

        A gpg process per file costs ~50 ms, one `--decrypt-files` run ~2 ms a file. The
        ciphertexts are copied into a private 0700 folder on tmpfs (RAM: the plaintexts
        are written there by gpg, read back and wiped at once). Each file's status lines
        (between FILE_START and FILE_DONE) must show the same success as `decrypt`
        (DECRYPTION_OKAY, GOODMDC, no failure) and its output stay within `max_output`;
        otherwise that item is decrypted again alone with `decrypt`, whose verdict counts
        (unless `retry` is off: then it is None, and the caller may ask `decrypt` why).
        Files are named relative to the folder gpg runs in: 20,000 names stay far below
        the command line's limit. `extra`: more gpg options for both (a `--keyring` of the
        keys a signature may come from)."""
        items = [bytes(i) for i in items]
        if not items:
            return []
        try:
            base = tmpfs.tmpfs_dir()
        except TemoinError:  # no RAM-backed folder: gpg's plaintexts would land on a disk
            return [self._alone(item, max_output, timeout, extra, True) for item in items]
        work = Path(tempfile.mkdtemp(prefix="temoin-many-", dir=base))
        out: builtins.list[Many] = [(None, {}, "")] * len(items)
        try:
            names = []
            for n, item in enumerate(items):
                (work / f"{n}.gpg").write_bytes(item)
                names.append(f"{n}.gpg")
            pw = self.passphrase
            # --no-use-embedded-filename whatever gpg.conf says: the sender's name for the
            # plaintext never names a file.
            cmd = ["gpg", "--homedir", str(self.home.absolute()), "--batch", "--no-tty", "--yes",
                   "--no-use-embedded-filename", "--status-fd", "2", *BASE_OPTIONS, *extra,
                   "--max-output", str(max_output + (1 << 20)),
                   *(["--passphrase-fd", "0"] if pw else []), "--decrypt-files", *names]
            try:
                p = subprocess.run(cmd, input=(pw.encode("utf-8") + b"\n") if pw else b"",
                                   capture_output=True, timeout=timeout, check=False,
                                   cwd=work, env={**os.environ, "LC_ALL": "C", "LANGUAGE": "C"})
                status = p.stderr.decode("latin-1")
            except subprocess.TimeoutExpired:
                status = ""
            files = _file_status(status)
            for n, name in enumerate(names):
                plain = work / name[:-4]
                good, st = files.get(name, (False, {}))
                if good and plain.is_file() and plain.stat().st_size <= max_output:
                    out[n] = (plain.read_bytes(), st, "")
            for n, item in enumerate(items):
                if out[n][0] is None and retry:
                    out[n] = self._alone(item, max_output, timeout, extra, retry)
        finally:
            for f in work.iterdir():
                with suppress(OSError):
                    f.write_bytes(b"\0" * f.stat().st_size)
            shutil.rmtree(work, ignore_errors=True)
        return out

    def _alone(self, item: bytes, max_output: int, timeout: float, extra: Sequence[str],
               retry: bool) -> Many:
        """One item of `decrypt_many_status` decrypted by its own gpg process, through a
        pipe (nothing on disk), or left undecrypted when `retry` is off."""
        if not retry:
            return (None, {}, "")
        res = self.decrypt(item, max_output=max_output, timeout=timeout, extra=extra)
        return (res.plaintext if res.ok else None, res.status, res.reason)

    # -- signatures -----------------------------------------------------------------------
    def sign_detached(self, data: bytes, signer: str, timestamp: int | None = None) -> bytes:
        """Armored detached signature. With `timestamp` (e.g. SOURCE_DATE_EPOCH) gpg signs
        as of that time, so the same data and key give the same bytes (EdDSA and RSA
        PKCS#1 v1.5 signatures are deterministic): a reproducible signed manifest."""
        # The only shape that counts (`keys.verify`): a binary document signature that never
        # expires, whatever gpg.conf says (`textmode`, `default-sig-expire`, `ask-sig-expire`).
        extra = ["--no-textmode", "--default-sig-expire", "0", "--no-ask-sig-expire"]
        if timestamp is not None:
            # A key cannot sign before it exists: sign at the later of the two times.
            created = max((int(k.created or 0) for k in self.list(secret=True)
                           if k.fingerprint == signer), default=0)
            extra += ["--faked-system-time", f"{max(int(timestamp), created)}!"]
        res = self.gpg.sign(data, keyid=signer, detach=True, binary=False,
                            passphrase=self.passphrase, extra_args=extra)
        if not res or not res.data:
            why = res.status or "no secret key or wrong passphrase"
            raise CryptoError(f"signing with {signer} failed ({why})")
        return bytes(res.data)

    def verify_detached(self, data: bytes, signature: bytes) -> str | None:
        """Primary fingerprint of a good signature over `data` by a key of this keyring,
        made before that key's revocation and expiry, else None (`temoin.keys.verify`:
        in process with Sequoia, gpg where Sequoia cannot decide, or TEMOIN_VERIFY=gpg)."""
        return verify.detached(self, data, signature)

    def checker(self) -> verify.Checker | None:
        """This keyring read once for in-process verification (read again when its public
        keys change), or None when Sequoia is not available."""
        with self._checker_lock:
            now = verify.stamp(self.home)
            if self._checker is None or self._checker[0] != now:
                self._checker = (now, verify.Checker.load(self.home))
            return self._checker[1]


def key_fingerprints(data: bytes | str) -> builtins.list[str]:
    """Primary fingerprints of the public keys in an armored or binary key block, read
    without importing it anywhere (`gpg --show-keys`)."""
    raw = data.encode() if isinstance(data, str) else data
    home = tempfile.mkdtemp(prefix="temoin-show-",
                            dir="/dev/shm" if os.path.isdir("/dev/shm") else None)  # noqa: S108
    try:
        out = subprocess.run(["gpg", "--homedir", home, "--batch", "--no-tty", "--with-colons",
                              "--show-keys"], input=raw, capture_output=True, check=False,
                             env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True,
                       check=False)
        shutil.rmtree(home, ignore_errors=True)
    fprs, want = [], False
    for line in out.splitlines():
        f = line.split(":")
        if f[0] == "pub":
            want = True
        elif f[0] == "fpr" and want and len(f) > 9:
            fprs.append(f[9])
            want = False
        elif f[0] == "sub":
            want = False
    return fprs


@contextmanager
def public_keyring(key_files: Iterable[Path]) -> Iterator[Keyring]:
    """A throwaway keyring holding only the given public keys (to verify from keys/ alone).
    Each file is read bounded (`files.MAX_KEY_FILE`): a FIFO or a 2 GB file is refused."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (RAM, mkdtemp 0700)
    home = tempfile.mkdtemp(prefix="temoin-verify-", dir=base)
    try:
        # Public keys need no agent: one autostarted here by a gpg still running when the
        # folder is killed and removed outlived the command (seen under load in the tests).
        Path(home, "gpg.conf").write_text("no-autostart\n")
        kr = Keyring(home)
        for f in key_files:
            data = read_bounded(Path(f), MAX_KEY_FILE, "key file", CryptoError)
            if data is None:
                raise CryptoError(f"{f}: no such key file")
            kr.import_keys(data)
        yield kr
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True,
                       check=False)
        shutil.rmtree(home, ignore_errors=True)


def open_keyring(gnupghome: str | None = None) -> Keyring:
    """The editor's or server's keyring: --gnupghome, else $GNUPGHOME; passphrase from env."""
    return Keyring(gnupghome, passphrase=passphrase_from_env())


# What `decrypt_many_status` gives for each item: plaintext, status lines, reason of failure.
Many = tuple[bytes | None, dict[str, list[str]], str]


def _file_status(status: str) -> dict[str, tuple[bool, dict[str, list[str]]]]:
    """Each file of a `--decrypt-files` run: whether its own status lines show a clean
    decryption, and those lines ({keyword: [arguments]})."""
    found: dict[str, tuple[bool, dict[str, list[str]]]] = {}
    current: str | None = None
    seen: dict[str, list[str]] = {}
    for line in status.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        word, _, rest = line[9:].partition(" ")
        if word == "FILE_START":
            current, seen = rest.split(" ", 1)[-1], {}
        elif word == "FILE_DONE":
            if current:
                found[current] = ({"DECRYPTION_OKAY", "GOODMDC"} <= set(seen) and not set(
                    seen) & {"DECRYPTION_FAILED", "BADMDC", "FAILURE", "ERROR"}, seen)
            current = None
        elif current is not None:
            seen.setdefault(word, []).append(rest)
    return found
