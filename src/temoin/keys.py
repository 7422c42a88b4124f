"""The only module that talks to GnuPG.

Every call goes through one `Keyring`: an explicit GNUPGHOME (never the user's default by
accident), batch mode, loopback pinentry, direct trust, no key fetching from the network.
Results are checked and turned into typed errors (`CryptoError`); plaintext never appears in
a message or a log.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import gnupg

from .errors import ConfigError, CryptoError

# python-gnupg logs gpg's stderr at debug level; keep it quiet unless asked.
logging.getLogger("gnupg").setLevel(logging.ERROR)

MIN_GPG = (2, 2, 8)  # EFAIL fixes: BADMDC handling and --max-output behaviour
BASE_OPTIONS = [
    "--pinentry-mode", "loopback",
    "--trust-model", "direct",
    "--no-auto-key-retrieve",
    "--auto-key-locate", "local",
    "--no-greeting",
    "--no-symkey-cache",
]
# Caching off: a wrong passphrase must never succeed because the agent remembers a right one.
AGENT_CONF = "default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\n"


@dataclass
class Decrypted:
    """What `decrypt` learned. `plaintext` is only set when `ok` is true."""

    ok: bool
    plaintext: bytes = b""
    reason: str = ""
    status: dict[str, list[str]] = field(default_factory=dict)
    signer: str = ""            # primary-key fingerprint of the signer, if any signature
    signature_valid: bool = False
    recipients: tuple[str, ...] = ()  # key ids the message was encrypted to (0000… = hidden)
    session_key_algo: str = ""


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


def passphrase_from_env() -> str | None:
    """The passphrase in TEMOIN_PASSPHRASE_FILE, or None (then gpg-agent asks)."""
    path = os.environ.get("TEMOIN_PASSPHRASE_FILE")
    if not path:
        return None
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"TEMOIN_PASSPHRASE_FILE {path}: cannot read: {exc.strerror}") from exc
    if any(c in raw for c in (b"\n", b"\r", b"\0")):
        raise ConfigError(f"TEMOIN_PASSPHRASE_FILE {path}: holds a newline, CR or NUL; gpg would "
                          "read a different passphrase. Write it without a trailing newline "
                          "(printf '%s' ... > file)")
    return raw.decode("utf-8")


def gpg_version(binary: str = "gpg") -> tuple[int, ...]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    m = re.search(r"\(GnuPG\)\s+(\d+)\.(\d+)\.(\d+)", out.stdout)
    if not m:
        raise CryptoError(f"`{binary} --version` did not report GnuPG; install gnupg (>= 2.2.8)")
    return tuple(int(x) for x in m.groups())


def _status_lines(stderr: str) -> dict[str, list[str]]:
    """Parse `[GNUPG:] KEY args` lines (status-fd output) into {KEY: [args, …]}."""
    status: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        if line.startswith("[GNUPG:] "):
            key, _, args = line[9:].partition(" ")
            status.setdefault(key, []).append(args)
    return status


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

    def has_secret(self, fingerprint: str) -> bool:
        return any(k.fingerprint == fingerprint for k in self.list(secret=True))

    def import_keys(self, data: bytes | str) -> list[str]:
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
        pw_args = ["--passphrase", pw] if pw else ["--passphrase", ""]
        res = self._run(["--quick-generate-key", uid, algos[0][0], algos[0][1], expire],
                        extra=pw_args)
        m = re.search(r"KEY_CREATED \w ([0-9A-F]{40,64})", res.stderr)
        if not m:
            raise CryptoError("gpg could not generate the key")
        fpr = m.group(1)
        self._run(["--quick-add-key", fpr, algos[1][0], algos[1][1], expire], extra=pw_args)
        return fpr

    def _run(self, args: list[str], data: bytes = b"",
             extra: list[str] | None = None) -> subprocess.CompletedProcess[str]:
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
                sign: str | None = None) -> bytes:
        """Encrypt `data` to every fingerprint in `recipients` (configured, so trusted)."""
        rcpts = list(recipients)
        if not rcpts:
            raise CryptoError("no recipients to encrypt to: add editor keys with "
                              "`temoin keys import FILE --as editor`")
        res = self.gpg.encrypt(data, rcpts, armor=armor, always_trust=True, sign=sign,
                               passphrase=self.passphrase if sign else None,
                               extra_args=["--compress-algo", "none"] if not armor else None)
        if not res.ok:
            raise CryptoError(f"encryption failed ({res.status}); is every recipient's public "
                              "key imported and unexpired?")
        return bytes(res.data)

    def decrypt(self, data: bytes, max_output: int = 64 * 1024 * 1024) -> Decrypted:
        """Decrypt with every EFAIL-era check. Never raises for a bad message: see `.reason`.

        Success means DECRYPTION_OKAY, no DECRYPTION_FAILED or BADMDC, integrity protection
        present, and a zero exit code unless the only failure is verifying a signature.
        Otherwise every byte gpg wrote is dropped. Output is bounded by `max_output`.
        """
        total = 0
        over = False

        def on_data(chunk: bytes) -> bool:
            nonlocal total, over
            total += len(chunk)
            if total > max_output:
                over = True
                return False  # drop: python-gnupg stops keeping chunks
            return True

        self.gpg.on_data = on_data
        try:
            res = self.gpg.decrypt(data, passphrase=self.passphrase,
                                   extra_args=["--max-output", str(max_output + 1),
                                               "--no-symkey-cache"])
        finally:
            self.gpg.on_data = None
        st = _status_lines(res.stderr or "")
        recips = tuple(a.split()[0] for a in st.get("ENC_TO", []) if a)
        out = Decrypted(ok=False, status=st, recipients=recips)
        signer, valid = _signature(st)
        out.signer, out.signature_valid = signer, valid
        reason = _decrypt_failure(st, res.returncode or 0, over)
        if reason:
            out.reason = reason
            return out
        out.ok = True
        out.plaintext = bytes(res.data)
        return out

    # -- signatures -----------------------------------------------------------------------
    def sign_detached(self, data: bytes, signer: str) -> bytes:
        res = self.gpg.sign(data, keyid=signer, detach=True, binary=False,
                            passphrase=self.passphrase)
        if not res or not res.data:
            why = res.status or "no secret key or wrong passphrase"
            raise CryptoError(f"signing with {signer} failed ({why})")
        return bytes(res.data)

    def verify_detached(self, data: bytes, signature: bytes) -> str | None:
        """Primary fingerprint of a good signature over `data`, else None."""
        with tempfile.NamedTemporaryFile(dir=self.home, suffix=".sig") as sig:
            sig.write(signature)
            sig.flush()
            res = self.gpg.verify_data(sig.name, data)
        st = _status_lines(res.stderr or "")
        fpr, ok = _signature(st)
        return fpr if ok else None


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("gpg: ") and "WARNING" not in line:
            return line[5:].strip()
    return "see gpg's status"


def _signature(st: dict[str, list[str]]) -> tuple[str, bool]:
    """(signer primary fingerprint or key id, whether the signature is good)."""
    if st.get("VALIDSIG"):
        parts = st["VALIDSIG"][0].split()
        primary = parts[9] if len(parts) > 9 else parts[0]
        return primary, "GOODSIG" in st
    for key in ("BADSIG", "ERRSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG"):
        if st.get(key):
            return st[key][0].split()[0], False
    return "", False


def _decrypt_failure(st: dict[str, list[str]], returncode: int, over: bool) -> str:
    """One-line reason a decryption must be refused, or '' when it is good."""
    if over or any("max-output" in a for a in st.get("ERROR", [])):
        return "decompressed size over the limit (possible compression bomb)"
    if "BADMDC" in st:
        return "integrity check failed (modified ciphertext, MDC mismatch)"
    if "NODATA" in st and "BEGIN_DECRYPTION" not in st:
        return "no OpenPGP data found (not encrypted, malformed or empty)"
    if "NO_SECKEY" in st and "BEGIN_DECRYPTION" not in st:
        if st.get("ENC_TO") or "NO_SECKEY" in st:
            return "encrypted to a key we do not hold"
    if "NEED_PASSPHRASE_SYM" in st and not st.get("ENC_TO"):
        return "symmetric-only encryption (no public-key recipient)"
    if "DECRYPTION_FAILED" in st:
        if st.get("ERROR") and any("nomdc" in a.lower() or "no_mdc" in a.lower()
                                    for a in st["ERROR"]):
            return "no integrity protection (legacy message without MDC)"
        return "decryption failed (truncated, tampered or not decryptable)"
    if "DECRYPTION_OKAY" not in st:
        if "PLAINTEXT" in st and "BEGIN_DECRYPTION" not in st:
            return "not encrypted (signed-only or plain OpenPGP data)"
        return "decryption did not complete (truncated or malformed)"
    if "GOODMDC" not in st and "DECRYPTION_INFO" in st:
        info = st["DECRYPTION_INFO"][0].split()
        if info and info[0] == "0" and (len(info) < 3 or info[2] == "0"):
            return "no integrity protection (legacy message without MDC)"
    if returncode != 0:
        sig_only = any(k in st for k in ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPKEYSIG",
                                          "REVKEYSIG", "KEYEXPIRED"))
        if not sig_only:
            return f"gpg exited {returncode} after decryption (refused as incomplete)"
    return ""


@contextmanager
def public_keyring(key_files: Iterable[Path]) -> Iterator[Keyring]:
    """A throwaway keyring holding only the given public keys (to verify from keys/ alone)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    home = tempfile.mkdtemp(prefix="temoin-verify-", dir=base)
    try:
        kr = Keyring(home)
        for f in key_files:
            kr.import_keys(Path(f).read_bytes())
        yield kr
    finally:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"], capture_output=True,
                       check=False)
        shutil.rmtree(home, ignore_errors=True)


def open_keyring(gnupghome: str | None = None) -> Keyring:
    """The editor's or server's keyring: --gnupghome, else $GNUPGHOME; passphrase from env."""
    return Keyring(gnupghome, passphrase=passphrase_from_env())
