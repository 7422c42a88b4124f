"""The only module that talks to GnuPG.

Every call goes through one `Keyring`: an explicit GNUPGHOME (never the user's default by
accident), batch mode, loopback pinentry, direct trust, no key fetching from the network.
Results are checked and turned into typed errors (`CryptoError`); plaintext never appears in
a message or a log.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import gnupg

from temoin.errors import ConfigError, CryptoError

if TYPE_CHECKING:
    import pysequoia

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
    session_key_algo: str = ""  # symmetric cipher of the message, e.g. "AES256"
    decryption_key: str = ""    # primary fingerprint of our key that decrypted it (rotation)
    # The literal data packet (RFC 4880 §5.9) as gpg reports it: its format, "b" binary,
    # "t" text, "u" UTF-8, "m" MIME ("" when unknown), and the file name the sender's tool
    # recorded ("" for none). The name is the sender's: untrusted, for metadata only.
    literal_format: str = ""
    literal_name: str = ""


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


# {status keyword: [arguments of each line]} (a module-level name: `Keyring.list` shadows
# the builtin inside the class body).
_Status = dict[str, list[str]]


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
        pw_args = ["--passphrase", pw] if pw else ["--passphrase", ""]
        res = self._run(["--quick-generate-key", uid, algos[0][0], algos[0][1], expire],
                        extra=pw_args)
        m = re.search(r"KEY_CREATED \w ([0-9A-F]{40,64})", res.stderr)
        if not m:
            raise CryptoError("gpg could not generate the key")
        fpr = m.group(1)
        self._run(["--quick-add-key", fpr, algos[1][0], algos[1][1], expire], extra=pw_args)
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

    def encrypt_many(self, items: Iterable[bytes],
                     recipients: Iterable[str]) -> builtins.list[bytes]:
        """Armored encryption of each item to every fingerprint in `recipients`, in memory.

        gpg is run directly, one process per item, one after the other: python-gnupg's
        reader threads and status parsing cost more Python CPU per call than the call
        itself, and (measured on 2 busy cores) running the processes side by side was
        slower, not faster. Same checks as `encrypt`: a zero exit code and gpg's
        END_ENCRYPTION status, else CryptoError."""
        rcpts = list(recipients)
        if not rcpts:
            raise CryptoError("no recipients to encrypt to: add editor keys with "
                              "`temoin keys import FILE --as editor`")
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--status-fd", "2",
               *BASE_OPTIONS, "--trust-model", "always", "--armor",
               *(a for r in rcpts for a in ("--recipient", r)), "--encrypt"]
        out = []
        for item in items:
            p = subprocess.run(cmd, input=bytes(item), capture_output=True, check=False)
            st = _status_lines(p.stderr.decode("latin-1"))
            if p.returncode != 0 or "END_ENCRYPTION" not in st or not p.stdout:
                why = " ".join(k for k in ("INV_RECP", "FAILURE", "ERROR") if k in st)
                raise CryptoError(f"encryption failed ({why or f'gpg exit {p.returncode}'}); "
                                  "is every recipient's public key imported and unexpired?")
            out.append(p.stdout)
        return out

    def sealer(self, recipients: Iterable[str]) -> Sealer:
        """An `encrypt_many` to fixed recipients for one run (see `Sealer`)."""
        return Sealer(self, list(recipients))

    def decrypt(self, data: bytes, max_output: int = 64 * 1024 * 1024,
                timeout: float = 300.0) -> Decrypted:
        """Decrypt with every EFAIL-era check. Never raises for a bad message: see `.reason`.

        Success means a session key decrypted by one of our secret keys (DECRYPTION_KEY),
        DECRYPTION_OKAY, GOODMDC (integrity protection present and intact), no
        DECRYPTION_FAILED or BADMDC, and a zero exit code unless the only failure is verifying
        a signature (an unknown or bad signer is reported, never required). Otherwise every
        byte gpg wrote is dropped and `.reason` says why in one line, without plaintext.
        Decompressed output is bounded by `max_output` bytes (gpg is stopped as soon as it
        passes them: compression bombs) and the run by `timeout` seconds.
        """
        if not data.strip():
            return Decrypted(ok=False, reason=_REASONS["empty"])
        out, st, log = self._gpg_decrypt(data, max_output, timeout)
        sig_st = st
        if "BADSIG" in st and "BEGIN_DECRYPTION" in st and "DECRYPTION_OKAY" not in st:
            # gpg --batch exits at a bad signature before it checks the MDC (seen with a
            # PGPainless text-mode signature that sq and PGPainless verify). Decrypt again
            # without verifying; the first run's verdict on the signature is kept.
            out, st, log = self._gpg_decrypt(data, max_output, timeout, "--skip-verify")
        recips = tuple(a.split()[0] for a in st.get("ENC_TO", []) if a)
        result = Decrypted(ok=False, status=st, recipients=recips)
        result.signer, result.signature_valid = _signature(sig_st)
        info = (st.get("DECRYPTION_INFO") or [""])[0].split()
        result.session_key_algo = _CIPHERS.get(info[1], info[1]) if len(info) > 1 else ""
        key = (st.get("DECRYPTION_KEY") or [""])[0].split()
        result.decryption_key = key[1] if len(key) > 1 else ""
        result.literal_format, result.literal_name = _literal(st)
        reason = _decrypt_failure(st, log, out.returncode, out.over, data, max_output)
        if out.timed_out and not out.over:
            reason = _REASONS["timeout"].format(timeout=timeout)
        elif out.flooded:
            reason = _REASONS["flood"]
        if reason:
            result.reason = reason
            return result
        result.ok = True
        result.plaintext = out.data()
        return result

    def decrypt_many(self, items: Iterable[bytes], max_output: int = 4 * 1024 * 1024,
                     timeout: float = 300.0) -> builtins.list[bytes | None]:
        """Decrypt many small messages of our own (encrypted drafts, sealed custody entries)
        with one gpg process: each item's plaintext, or None where it failed.

        A gpg process per file costs ~50 ms, one `--decrypt-files` run ~2 ms a file. The
        ciphertexts are copied into a private 0700 folder on tmpfs (RAM: the plaintexts
        are written there by gpg, read back and wiped at once). Each file's status lines
        (between FILE_START and FILE_DONE) must show the same success as `decrypt`
        (DECRYPTION_OKAY, GOODMDC, no failure) and its output stay within `max_output`;
        otherwise that item is decrypted again alone with `decrypt`, whose verdict counts."""
        items = [bytes(i) for i in items]
        if not items:
            return []
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (RAM, mkdtemp 0700)
        work = Path(tempfile.mkdtemp(prefix="temoin-many-", dir=base))
        out: builtins.list[bytes | None] = [None] * len(items)
        try:
            names = []
            for n, item in enumerate(items):
                f = work / f"{n}.gpg"
                f.write_bytes(item)
                names.append(str(f))
            pw = self.passphrase
            cmd = ["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--yes",
                   "--status-fd", "2", *BASE_OPTIONS,
                   "--max-output", str(max_output + (1 << 20)),
                   *(["--passphrase-fd", "0"] if pw else []), "--decrypt-files", *names]
            try:
                p = subprocess.run(cmd, input=(pw.encode("utf-8") + b"\n") if pw else b"",
                                   capture_output=True, timeout=timeout, check=False,
                                   env={**os.environ, "LC_ALL": "C", "LANGUAGE": "C"})
                status = p.stderr.decode("latin-1")
            except subprocess.TimeoutExpired:
                status = ""
            good = _good_files(status)
            for n, name in enumerate(names):
                plain = Path(name[:-4])
                if name in good and plain.is_file() and plain.stat().st_size <= max_output:
                    out[n] = plain.read_bytes()
            for n, item in enumerate(items):
                if out[n] is None:
                    res = self.decrypt(item, max_output=max_output, timeout=timeout)
                    out[n] = res.plaintext if res.ok else None
        finally:
            for f in work.iterdir():
                with suppress(OSError):
                    f.write_bytes(b"\0" * f.stat().st_size)
            shutil.rmtree(work, ignore_errors=True)
        return out

    def _gpg_decrypt(self, data: bytes, max_output: int, timeout: float,
                     *extra: str) -> tuple[_Output, _Status, str]:
        """One `gpg --decrypt` run: (output, status lines, gpg's other log lines).

        gpg is run directly rather than through python-gnupg so it can be killed the moment
        its output passes `max_output`: `--max-output` alone only stops the writing, and gpg
        goes on inflating a bomb to the end (measured: the same ~2.5 s of CPU per GiB of
        zeros with a 1 KB limit as with none), which a large bzip2 bomb turns into hours.
        """
        pw = self.passphrase
        if pw and any(c in pw for c in "\n\r\0"):
            raise ConfigError("the passphrase holds a newline, CR or NUL; gpg would read a "
                              "different one (write the file with printf '%s')")
        # --max-output stays as a backstop above the limit we enforce by reading.
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--no-tty", "--status-fd", "2",
               *BASE_OPTIONS, "--max-output", str(max_output + (1 << 20)), *extra,
               *(["--passphrase-fd", "0"] if pw else []), "--decrypt"]
        # LC_ALL=C: the few log lines parsed for wording are English whatever the locale.
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                env={**os.environ, "LC_ALL": "C", "LANGUAGE": "C"})
        out = _Output(max_output)
        errs = _Stderr()
        payload = (pw.encode("utf-8") + b"\n" if pw else b"") + data
        assert proc.stdin and proc.stdout and proc.stderr  # all three are pipes
        threads = [threading.Thread(target=_feed, args=(proc.stdin, payload), daemon=True),
                   threading.Thread(target=errs.read, args=(proc.stderr,), daemon=True)]
        timer = threading.Timer(timeout, out.expire, args=(proc,))
        for t in (*threads, timer):
            t.start()
        try:
            while chunk := os.read(proc.stdout.fileno(), 1 << 16):
                if not out.take(chunk):
                    proc.kill()  # over the limit: stop gpg now, not after the whole bomb
                    break
        finally:
            proc.stdout.close()
            out.returncode = proc.wait()
            timer.cancel()
            for t in threads:
                t.join()
        out.flooded = errs.flooded
        return out, _status_lines(errs.status()), errs.log()

    # -- signatures -----------------------------------------------------------------------
    def sign_detached(self, data: bytes, signer: str, timestamp: int | None = None) -> bytes:
        """Armored detached signature. With `timestamp` (e.g. SOURCE_DATE_EPOCH) gpg signs
        as of that time, so the same data and key give the same bytes (EdDSA and RSA
        PKCS#1 v1.5 signatures are deterministic): a reproducible signed manifest."""
        extra = None
        if timestamp is not None:
            # A key cannot sign before it exists: sign at the later of the two times.
            created = max((int(k.created or 0) for k in self.list(secret=True)
                           if k.fingerprint == signer), default=0)
            extra = ["--faked-system-time", f"{max(int(timestamp), created)}!"]
        res = self.gpg.sign(data, keyid=signer, detach=True, binary=False,
                            passphrase=self.passphrase, extra_args=extra)
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
        if ok:
            return fpr
        return self._before_key_end(st)

    def _before_key_end(self, st: dict[str, builtins.list[str]]) -> str | None:
        """The signer of a good signature by a key now revoked or expired, if the signature
        was made before the key's revocation and expiry (both read from the key itself);
        else None. gpg reports every signature of such a key as REVKEYSIG/EXPKEYSIG."""
        if not st.get("VALIDSIG") or not ({"REVKEYSIG", "EXPKEYSIG"} & set(st)) or any(
                k in st for k in ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG")):
            return None
        parts = st["VALIDSIG"][0].split()
        if len(parts) < 10:
            return None
        made, primary = _epoch(parts[2]), parts[9]
        end = self.key_end(primary)
        return primary if made is not None and end is not None and made < end else None

    def key_end(self, fingerprint: str) -> int | None:
        """When the key `fingerprint` stopped counting: the earlier of its revocation and
        its expiry (seconds since the epoch), or None when it is neither revoked nor
        expires."""
        out = subprocess.run(["gpg", "--homedir", str(self.home), "--batch", "--no-tty",
                              "--with-colons", "--fixed-list-mode", "--list-sigs",
                              fingerprint], capture_output=True, check=False,
                             env={**os.environ, "LC_ALL": "C"}).stdout.decode("utf-8", "replace")
        ends: builtins.list[int] = []
        on_primary = False
        for line in out.splitlines():
            f = line.split(":")
            if f[0] == "pub":
                on_primary = True
                if len(f) > 6 and f[6].isdigit():
                    ends.append(int(f[6]))
            elif f[0] in ("uid", "sub", "uat"):
                on_primary = False
            elif f[0] == "rev" and on_primary and len(f) > 10 and f[10].startswith("20") \
                    and f[5].isdigit():  # class 20: a revocation of the primary key
                ends.append(int(f[5]))
        return min(ends) if ends else None


def _epoch(value: str) -> int | None:
    """A gpg status timestamp (seconds, or ISO 8601 "20250101T120000") as seconds."""
    if value.isdigit():
        return int(value)
    import datetime as _dt

    try:
        return int(_dt.datetime.strptime(value, "%Y%m%dT%H%M%S").replace(
            tzinfo=_dt.UTC).timestamp())
    except ValueError:
        return None


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


class Sealer:
    """Armored encryption of many items to the same recipients, in process.

    A gpg process per item costs more than the rest of an ingest; Sequoia (pysequoia) in
    this process does the same work in a few milliseconds. gpg stays the judge of which
    keys may be used: the certificates are exported from the keyring once, and a probe
    encryption must use only subkeys gpg itself holds valid for encryption (every
    recipient at least one), in a SEIPD v1 packet (MDC) that gpg 2.2 reads. Anything
    else (pysequoia missing, a certificate Sequoia's policy rejects such as one bound
    by SHA-1, an unusable key) and the run uses gpg, which refuses what it refuses."""

    def __init__(self, keyring: Keyring, recipients: builtins.list[str]) -> None:
        self.keyring, self.recipients = keyring, recipients
        self.certs = _sequoia_certs(keyring, recipients) if recipients else None

    @property
    def in_process(self) -> bool:
        return self.certs is not None

    def encrypt_many(self, items: Iterable[bytes]) -> builtins.list[bytes]:
        """Like `Keyring.encrypt_many` (same errors), without a process per item."""
        items = [bytes(i) for i in items]
        if self.certs is None:
            return self.keyring.encrypt_many(items, self.recipients)
        import pysequoia

        out = []
        for item in items:
            try:
                out.append(bytes(pysequoia.encrypt(item, self.certs)))
            except Exception:  # noqa: BLE001 - gpg decides (and explains) instead
                out += self.keyring.encrypt_many([item], self.recipients)
        return out


def _sequoia_certs(keyring: Keyring,
                   rcpts: builtins.list[str]) -> builtins.list[pysequoia.Cert] | None:
    """The recipients' certificates for pysequoia, or None when gpg must do the work."""
    try:
        import pysequoia
    except ImportError:
        return None
    valid = _encryption_keys(keyring, rcpts)
    if valid is None:
        return None
    try:
        exported = keyring.gpg.export_keys(rcpts, armor=True, minimal=True)
        by_fpr = {c.fingerprint.upper(): c for c in
                  pysequoia.Cert.split_bytes(str(exported).encode("ascii"))}
        certs = [by_fpr[r.upper()] for r in rcpts]
        probe = bytes(pysequoia.encrypt(b"probe", certs, armor=False))
    except Exception:  # noqa: BLE001 - not exported, not parsed, refused by Sequoia's policy
        return None
    used, seipd = _pkesk_ids(probe)
    if seipd != 1 or not used or not all(
            used & ids and used <= set().union(*valid.values()) for ids in valid.values()):
        return None
    return list(certs)


def _encryption_keys(keyring: Keyring, rcpts: builtins.list[str]) -> dict[str, set[str]] | None:
    """{recipient: key ids gpg would accept to encrypt to} (None if one has none): the
    primary key and subkeys that can encrypt, in gpg's own listing (as `Keyring.unfit`
    reads it), none of them nor their primary revoked, expired, invalid or disabled."""
    bad = ("r", "e", "i", "d")
    listed = {str(k.get("fingerprint", "")).upper(): k
              for k in keyring.gpg.list_keys(keys=rcpts)}
    wanted: dict[str, set[str]] = {}
    for r in rcpts:
        k = listed.get(r.upper())
        ids: set[str] = set()
        if k is not None and str(k.get("trust", "")) not in bad:
            if "e" in str(k.get("cap", "")):  # lower case: the primary key's own capability
                ids.add(str(k.get("keyid", "")).upper())
            ids |= {str(kid).upper() for kid, info in (k.get("subkey_info") or {}).items()
                    if str(info.get("trust", "")) not in bad and "e" in str(info.get("cap", ""))}
        wanted[r.upper()] = ids
    return wanted if all(wanted.values()) else None


def _pkesk_ids(message: bytes) -> tuple[set[str], int]:
    """(key ids of the v3 PKESK packets, version of the SEIPD packet or 0) of a binary
    OpenPGP message in Sequoia's new-format packets, read up to the encrypted data."""
    ids: set[str] = set()
    pos = 0
    while pos < len(message):
        ctb = message[pos]
        if ctb & 0xC0 != 0xC0:
            return ids, 0
        tag, first = ctb & 0x3F, message[pos + 1]
        if first < 192:
            hlen, length = 2, first
        elif first < 224:
            hlen, length = 3, ((first - 192) << 8) + message[pos + 2] + 192
        elif first == 255:
            hlen, length = 6, int.from_bytes(message[pos + 2:pos + 6], "big")
        else:
            hlen, length = 2, 0  # partial length: only the encrypted data streams like this
        body = message[pos + hlen:pos + hlen + length]
        if tag == 18:
            return ids, message[pos + hlen]
        if tag != 1 or body[:1] != b"\x03":
            return ids, 0
        ids.add(body[1:9].hex().upper())
        pos += hlen + length
    return ids, 0


def _good_files(status: str) -> set[str]:
    """Files of a `--decrypt-files` run whose own status lines show a clean decryption."""
    good: set[str] = set()
    current: str | None = None
    seen: set[str] = set()
    for line in status.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        word, _, rest = line[9:].partition(" ")
        if word == "FILE_START":
            current, seen = rest.split(" ", 1)[-1], set()
        elif word == "FILE_DONE":
            if current and {"DECRYPTION_OKAY", "GOODMDC"} <= seen and not seen & {
                    "DECRYPTION_FAILED", "BADMDC", "FAILURE", "ERROR"}:
                good.add(current)
            current = None
        elif current is not None:
            seen.add(word)
    return good


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("gpg: ") and "WARNING" not in line:
            return line[5:].strip()
    return "see gpg's status"


class _Output:
    """gpg's stdout, counted as it arrives: nothing is kept once it passes `limit`.

    Chunks are kept in a list, not appended to one growing buffer: growing a buffer makes
    the allocator copy it now and then, and while it copies, both the old and the new buffer
    are resident (twice the limit at the peak, seen on CI with a bomb). A list never holds
    more than the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.chunks: list[bytes] = []
        self.total = 0
        self.over = False
        self.timed_out = False
        self.flooded = False
        self.returncode = 0

    def take(self, chunk: bytes) -> bool:
        """Keep a chunk; False once the total passes the limit (then gpg gets killed)."""
        self.total += len(chunk)
        if self.total > self.limit:
            self.over = True
            self.chunks.clear()
            return False
        self.chunks.append(chunk)
        return True

    def data(self) -> bytes:
        """Everything gpg wrote, as one bytes object (the chunks are released)."""
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data

    def expire(self, proc: subprocess.Popen[bytes]) -> None:
        self.timed_out = True
        proc.kill()


class _Stderr:
    """gpg's stderr, bounded: status lines up to 4 MiB, log lines the first and last 32 KiB.

    One line per bad character of a junk armor: 1 MB of it is 43 MB of gpg log.
    """

    STATUS_MAX, LOG_HALF = 4 << 20, 32 << 10

    def __init__(self) -> None:
        self.status_lines: list[bytes] = []
        self.head: list[bytes] = []
        self.tail: deque[bytes] = deque(maxlen=400)
        self.status_size = self.head_size = 0
        self.flooded = False

    def read(self, pipe: IO[bytes]) -> None:
        for line in pipe:
            if line.startswith(b"[GNUPG:] "):
                self.status_size += len(line)
                if self.status_size <= self.STATUS_MAX:
                    self.status_lines.append(line)
                else:
                    self.flooded = True
            elif self.head_size < self.LOG_HALF:
                self.head.append(line)
                self.head_size += len(line)
            else:
                self.tail.append(line)

    # latin-1: lossless for any byte gpg prints (a v6 signature's salt notation is binary)
    def status(self) -> str:
        return b"".join(self.status_lines).decode("latin-1")

    def log(self) -> str:
        return b"".join([*self.head, *self.tail]).decode("latin-1")


def _feed(pipe: IO[bytes], payload: bytes) -> None:
    """Write gpg's stdin (passphrase line, then the message); gpg may exit before reading."""
    with suppress(BrokenPipeError, ValueError):
        pipe.write(payload)
    with suppress(BrokenPipeError):
        pipe.close()


_CIPHERS = {"1": "IDEA", "2": "3DES", "3": "CAST5", "4": "BLOWFISH", "7": "AES128",
            "8": "AES192", "9": "AES256", "10": "TWOFISH", "11": "CAMELLIA128",
            "12": "CAMELLIA192", "13": "CAMELLIA256"}
_SIG_PROBLEMS = ("ERRSIG", "NO_PUBKEY", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG",
                 "KEYEXPIRED", "KEYREVOKED")
# One line each, for an editor; the keyword tests and the corpus manifest look for is first.
_REASONS = {
    "empty": "empty submission: no data to decrypt",
    "plain": "not encrypted: no OpenPGP data found (plain text?); ask the source to encrypt "
             "to the inbox key",
    "signed": "not encrypted: a signed or clear-signed message anyone could read on the way; "
              "ask the source to encrypt to the inbox key",
    "key": "not encrypted: an OpenPGP key, not a message (import it with `temoin keys "
           "import` if it is meant as a key)",
    "stranger": "encrypted to a key we do not hold ({ids}); check which inbox key the "
                "source used (`temoin keys list`)",
    "symmetric": "symmetric-only encryption (passphrase, no public-key recipient): refused; "
                 "ask the source to encrypt to the inbox key",
    "passphrase": "wrong or missing passphrase for the inbox key: check "
                  "TEMOIN_PASSPHRASE_FILE or the gpg-agent",
    "session": "session key does not decrypt with our key (damaged or forged key packet)",
    "badmdc": "integrity check failed: the ciphertext was modified (MDC mismatch)",
    "nomdc": "integrity protection missing (legacy message without MDC): refused as EFAIL "
             "guidance requires",
    "inner": "integrity not verified: damaged data inside the encryption (tampered or "
             "truncated)",
    "injected": "unencrypted data beside the encrypted message (possible injection): refused",
    "truncated": "truncated: the encrypted data ends early",
    "armor_end": "truncated: the armor has no END line",
    "armor_crc": "malformed armor: checksum (CRC) mismatch",
    "armor_chars": "malformed armor: characters outside base64 in the body",
    "malformed": "malformed OpenPGP data: not a message gpg can read",
    "unsupported": "unsupported packet version/AEAD (GnuPG 2.2): an OpenPGP v6/SEIPDv2 "
                   "message; ask the source for a v4-compatible one",
    "bomb": "decompressed size over the limit of {limit} bytes (possible compression bomb); "
            "raise the limit only for a sender you trust",
    "incomplete": "gpg exited {rc} after decrypting: refused as incomplete",
    "timeout": "gpg did not finish within {timeout:g} s: stopped and refused",
    "flood": "malformed OpenPGP data: gpg's report on it passed 4 MiB",
}
_TRUNCATED = ("premature", "problem reading source", "read error", "Invalid packet",
              "unexpected end")
# RFC 9580 packets GnuPG 2.2 cannot parse: v6 PKESK/SKESK/signatures, SEIPD version 2.
_V6_PACKET = re.compile(r"(packet\(\d+\)|encrypted_mdc packet) with unknown version [2-6]\b")
_KEY_TAGS = {5, 6, 7, 14}  # secret key, public key, secret subkey, public subkey


def _signature(st: dict[str, list[str]]) -> tuple[str, bool]:
    """(signer primary fingerprint, else key id, or ""; whether every signature is good)."""
    valid = "VALIDSIG" in st and "GOODSIG" in st and not any(k in st for k in _SIG_PROBLEMS)
    if st.get("VALIDSIG"):
        parts = st["VALIDSIG"][0].split()
        return (parts[9] if len(parts) > 9 else parts[0]), valid
    if st.get("ERRSIG"):
        parts = st["ERRSIG"][0].split()  # keyid algo hash class time rc [fingerprint]
        return (parts[6] if len(parts) > 6 and parts[6] != "-" else parts[0]), False
    for key in ("BADSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG", "GOODSIG"):
        if st.get(key):
            return st[key][0].split()[0], False
    return "", False


def _literal(st: dict[str, list[str]]) -> tuple[str, str]:
    """(format letter, file name) of the literal data packet from gpg's `PLAINTEXT <format
    hex> <timestamp> <name>` status line. gpg escapes '%', spaces and control characters in
    the name as %XX and passes other bytes through (read here as latin-1). The packet says
    nothing of the name's charset: UTF-8 when it is valid UTF-8, else Windows-1252 (PGPy
    writes Latin-1), undefined bytes replaced."""
    lines = st.get("PLAINTEXT") or []
    if len(lines) != 1:  # none, or several literals (refused anyway as injected data)
        return "", ""
    parts = lines[0].split(" ", 2)
    try:
        fmt = chr(int(parts[0], 16))
    except ValueError:
        fmt = ""
    raw = parts[2] if len(parts) > 2 else ""
    name = re.sub(rb"%([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                  raw.encode("latin-1", "replace"))
    # RFC 9580 also knows "l" and "1" (local, obsolete): both mean binary.
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError:
        text = name.decode("cp1252", "replace")
    return (fmt if fmt.isascii() and fmt.isalnum() else ""), text


def _decrypt_failure(st: dict[str, list[str]], log: str, returncode: int, over: bool,  # noqa: C901 - one branch per gpg status that means a distinct quarantine reason
                     data: bytes, max_output: int) -> str:
    """One-line reason a decryption must be refused, or '' when it is good.

    Status lines decide wherever gpg gives one; gpg's English log lines (LC_ALL=C) only
    sharpen the wording of a refusal, never turn a refusal into a success.
    """
    errors = " ".join(st.get("ERROR", []))
    if over or "exceeded --max-output" in log:
        return _REASONS["bomb"].format(limit=max_output)
    if "plaintext" in errors or "multiple plaintexts" in log:
        return _REASONS["injected"]
    if "BADMDC" in st:
        return _REASONS["badmdc"]
    if "BEGIN_DECRYPTION" in st:
        return _after_begin(st, log, errors, returncode)
    if "NEED_PASSPHRASE" in st:  # one of our keys, locked, and no passphrase to give it
        return _REASONS["passphrase"]
    if st.get("ENC_TO") and "NO_SECKEY" in st:
        return _stranger(st)
    if "NEED_PASSPHRASE_SYM" in st:
        return _REASONS["symmetric"]
    if any(t in log for t in _TRUNCATED):
        return _REASONS["truncated"]
    if _V6_PACKET.search(log):
        return _REASONS["unsupported"]
    head = data.lstrip()[:64]
    if (head.startswith((b"-----BEGIN PGP PUBLIC KEY", b"-----BEGIN PGP PRIVATE KEY"))
            or _first_tag(head) in _KEY_TAGS or "UNEXPECTED" in st):
        return _REASONS["key"]
    if any(k in st for k in ("PLAINTEXT", "NEWSIG", "GOODSIG", "BADSIG", "ERRSIG")):
        return _REASONS["signed"]
    if "CRC error" in log:
        return _REASONS["armor_crc"]
    if "invalid radix64" in log:
        return _REASONS["armor_chars"]
    if b"-----BEGIN PGP" in data and b"-----END PGP" not in data:
        return _REASONS["armor_end"]
    if st.get("NODATA") and b"-----BEGIN PGP" not in data and _first_tag(head) is None:
        return _REASONS["plain"]
    return _REASONS["malformed"]


def _after_begin(st: dict[str, list[str]], log: str, errors: str, returncode: int) -> str:
    """The verdict once gpg started decrypting a public-key or symmetric message."""
    info = (st.get("DECRYPTION_INFO") or [""])[0].split()
    if info and info[0] == "0" and "GOODMDC" not in st:
        return _REASONS["nomdc"]  # mdc_method 0: a SED packet; AEAD reports GOODMDC
    if "DECRYPTION_KEY" not in st:
        # gpg error code 11 is GPG_ERR_BAD_PASSPHRASE (low 16 bits of the ERROR argument)
        if "BAD_PASSPHRASE" in st or "Bad passphrase" in log or any(
                a.split()[-1].isdigit() and int(a.split()[-1]) & 0xFFFF == 11
                for a in st.get("ERROR", []) if a.startswith("pkdecrypt_failed")):
            return _REASONS["passphrase"]
        if st.get("ENC_TO") and "NO_SECKEY" in st:
            return _stranger(st)
        if "pkdecrypt_failed" in errors:
            return _REASONS["session"]
        if "NEED_PASSPHRASE_SYM" in st and not st.get("ENC_TO"):
            return _REASONS["symmetric"]
    if "DECRYPTION_FAILED" in st or "DECRYPTION_OKAY" not in st:
        if any(t in log for t in _TRUNCATED):
            return _REASONS["truncated"]
        return _REASONS["inner"]
    if "GOODMDC" not in st:
        return _REASONS["nomdc"]
    if "DECRYPTION_KEY" not in st:
        return _REASONS["symmetric"]  # decrypted, but not by one of our secret keys
    if returncode != 0 and (errors or not any(k in st for k in _SIG_PROBLEMS)):
        return _REASONS["incomplete"].format(rc=returncode)
    return ""


def _stranger(st: dict[str, list[str]]) -> str:
    ids = sorted({a.split()[0] for a in st.get("NO_SECKEY", []) if a})
    return _REASONS["stranger"].format(ids=", ".join(ids) or "hidden recipient")


def _first_tag(head: bytes) -> int | None:
    """Packet tag of binary OpenPGP data (RFC 4880 §4.2), or None if it is not a packet."""
    if not head or not head[0] & 0x80:
        return None
    return head[0] & 0x3F if head[0] & 0x40 else (head[0] >> 2) & 0x0F


@contextmanager
def public_keyring(key_files: Iterable[Path]) -> Iterator[Keyring]:
    """A throwaway keyring holding only the given public keys (to verify from keys/ alone)."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (RAM, mkdtemp 0700)
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
