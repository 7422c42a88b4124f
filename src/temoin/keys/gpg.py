"""GnuPG itself: the options every call passes, the agent's settings, the version Témoin
needs, the passphrase from the environment, and gpg's status and log lines read."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from temoin.errors import ConfigError, CryptoError

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


def passphrase_from_env() -> str | None:
    """The passphrase in TEMOIN_PASSPHRASE_FILE, or None (then gpg-agent asks)."""
    path = os.environ.get("TEMOIN_PASSPHRASE_FILE")
    if not path:
        return None
    return read_passphrase_file(Path(path), f"TEMOIN_PASSPHRASE_FILE {path}")


def read_passphrase_file(path: Path, label: str) -> str:
    """A passphrase file as gpg will read it; refused when it holds a newline, CR or NUL."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read: {exc.strerror}") from exc
    if any(c in raw for c in (b"\n", b"\r", b"\0")):
        raise ConfigError(f"{label}: holds a newline, CR or NUL; gpg would "
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
# the builtin `list` inside that class body).
_Status = dict[str, list[str]]


def _status_lines(stderr: str) -> dict[str, list[str]]:
    """Parse `[GNUPG:] KEY args` lines (status-fd output) into {KEY: [args, …]}."""
    status: dict[str, list[str]] = {}
    for line in stderr.splitlines():
        if line.startswith("[GNUPG:] "):
            key, _, args = line[9:].partition(" ")
            status.setdefault(key, []).append(args)
    return status


def _first_error(stderr: str) -> str:
    for line in stderr.splitlines():
        if line.startswith("gpg: ") and "WARNING" not in line:
            return line[5:].strip()
    return "see gpg's status"
