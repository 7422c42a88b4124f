"""Decryption that a hostile message cannot turn against us: gpg run directly, its output
counted as it arrives and gpg killed past the limit (compression bombs), its stderr bounded,
the run timed, and every EFAIL-era check applied before a byte of plaintext is returned."""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from temoin.errors import ConfigError
from temoin.keys.gpg import BASE_OPTIONS, _Status, _status_lines
from temoin.keys.reasons import _REASONS, _decrypt_failure, _literal, _signature


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


def decrypt(home: Path, passphrase: str | None, data: bytes,
            max_output: int = 64 * 1024 * 1024, timeout: float = 300.0,
            extra: Sequence[str] = ()) -> Decrypted:
    """Decrypt with every EFAIL-era check. Never raises for a bad message: see `.reason`.

    Success means a session key decrypted by one of our secret keys (DECRYPTION_KEY),
    DECRYPTION_OKAY, GOODMDC (integrity protection present and intact), no
    DECRYPTION_FAILED or BADMDC, and a zero exit code unless the only failure is verifying
    a signature (an unknown or bad signer is reported, never required). Otherwise every
    byte gpg wrote is dropped and `.reason` says why in one line, without plaintext.
    Decompressed output is bounded by `max_output` bytes (gpg is stopped as soon as it
    passes them: compression bombs) and the run by `timeout` seconds. `extra`: more gpg
    options (a `--keyring` of the keys a signature may come from).
    """
    if not data.strip():
        return Decrypted(ok=False, reason=_REASONS["empty"])
    out, st, log = _gpg_decrypt(home, passphrase, data, max_output, timeout, *extra)
    sig_st = st
    if "BADSIG" in st and "BEGIN_DECRYPTION" in st and "DECRYPTION_OKAY" not in st:
        # gpg --batch exits at a bad signature before it checks the MDC (seen with a
        # PGPainless text-mode signature that sq and PGPainless verify). Decrypt again
        # without verifying; the first run's verdict on the signature is kept.
        out, st, log = _gpg_decrypt(home, passphrase, data, max_output, timeout, *extra,
                                    "--skip-verify")
    result = from_status(st, sig_st)
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


def from_status(st: _Status, sig_st: _Status | None = None) -> Decrypted:
    """What gpg's status lines `st` say of a decryption (`sig_st`: of its signature, when
    read from another run), not yet judged: `ok` false, no plaintext."""
    recips = tuple(a.split()[0] for a in st.get("ENC_TO", []) if a)
    result = Decrypted(ok=False, status=st, recipients=recips)
    result.signer, result.signature_valid = _signature(st if sig_st is None else sig_st)
    info = (st.get("DECRYPTION_INFO") or [""])[0].split()
    result.session_key_algo = _CIPHERS.get(info[1], info[1]) if len(info) > 1 else ""
    key = (st.get("DECRYPTION_KEY") or [""])[0].split()
    result.decryption_key = key[1] if len(key) > 1 else ""
    result.literal_format, result.literal_name = _literal(st)
    return result


def _gpg_decrypt(home: Path, passphrase: str | None, data: bytes, max_output: int,
                 timeout: float, *extra: str) -> tuple[_Output, _Status, str]:
    """One `gpg --decrypt` run: (output, status lines, gpg's other log lines).

    gpg is run directly rather than through python-gnupg so it can be killed the moment
    its output passes `max_output`: `--max-output` alone only stops the writing, and gpg
    goes on inflating a bomb to the end (measured: the same ~2.5 s of CPU per GiB of
    zeros with a 1 KB limit as with none), which a large bzip2 bomb turns into hours.
    """
    pw = passphrase
    if pw and any(c in pw for c in "\n\r\0"):
        raise ConfigError("the passphrase holds a newline, CR or NUL; gpg would read a "
                          "different one (write the file with printf '%s')")
    # --max-output stays as a backstop above the limit we enforce by reading.
    cmd = ["gpg", "--homedir", str(home), "--batch", "--no-tty", "--status-fd", "2",
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
