"""The IMAP client side of `temoin fetch`: URL, password, verified TLS, partial FETCH, MOVE.

Python's imaplib speaks the protocol; this module adds what it leaves to the caller: a
verified TLS context (system CAs or --ca-file, TLS 1.2 at least), STARTTLS or nothing,
quoting of folder names, post-login capabilities, and bounded reads of each message.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import re
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from temoin.errors import EXIT_USAGE, ConfigError, CryptoError, TemoinError

CHUNK = 1 << 20  # bytes per partial FETCH: memory stays bounded whatever the message size
TIMEOUT = 60.0   # seconds without an answer before a connection counts as lost


class FetchError(TemoinError):
    """A mailbox could not be read completely; what was saved stays saved."""


class UrlError(TemoinError):
    """The mailbox URL cannot be used as given."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class ImapUrl:
    """A parsed `imaps://user@host[:port]/MAILBOX` (no password: that never goes in a URL)."""

    scheme: str
    user: str
    host: str
    port: int
    mailbox: str

    @property
    def key(self) -> str:
        """Normalised URL: the mailbox's name in inbox/.fetch-state.json."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"{self.scheme}://{quote(self.user, safe='')}@{host}:{self.port}/"
                f"{quote(self.mailbox, safe='/')}")


_MAILBOX_OK = re.compile(r"^[\x20-\x7e]+$")


def parse_url(url: str) -> ImapUrl:
    """Validate an IMAP URL; refuse a password in it and anything we would not honour."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # the URL itself is not echoed: it might hold a password
        raise UrlError(f"not a mailbox URL ({exc}); expected imaps://user@host[:port]/INBOX") \
            from exc
    if parts.password is not None:
        raise UrlError("the mailbox URL holds a password: remove it (command lines show in `ps`"
                       " and shell history) and put it in a file named by "
                       "TEMOIN_IMAP_PASSWORD_FILE")
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise UrlError(f"{url!r}: expected an imaps:// (or imap:// with --starttls) URL, "
                       f"got scheme {parts.scheme or 'none'!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlError(f"{url!r}: {exc}") from exc
    if not parts.username or not parts.hostname:
        raise UrlError(f"{url!r}: expected {scheme}://user@host[:port]/MAILBOX "
                       "(an @ inside the user name is written %40)")
    if parts.query or parts.fragment:
        raise UrlError(f"{url!r}: unexpected ?query or #fragment in the mailbox URL")
    name = unquote(parts.path.lstrip("/")) or "INBOX"
    check_folder(name, url)
    return ImapUrl(scheme, unquote(parts.username), parts.hostname,
                   port or (993 if scheme == "imaps" else 143), name)


def check_folder(name: str, where: str) -> None:
    """Refuse folder names we cannot send verbatim (IMAP wants modified UTF-7 otherwise)."""
    if not _MAILBOX_OK.match(name):
        raise UrlError(f"{where}: folder {name!r} must be printable ASCII "
                       "(rename the folder on the server, or use its ASCII alias)")


def password_from_env(env: Mapping[str, str] | None = None) -> str:
    """The IMAP password: the file named by TEMOIN_IMAP_PASSWORD_FILE, else
    TEMOIN_IMAP_PASSWORD. Never from the command line."""
    env = os.environ if env is None else env
    path = env.get("TEMOIN_IMAP_PASSWORD_FILE")
    if path:
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"TEMOIN_IMAP_PASSWORD_FILE {path}: cannot read: {exc}") from exc
        secret = raw[:-1] if raw.endswith("\n") else raw  # `echo pw > file` adds one newline
        secret = secret[:-1] if secret.endswith("\r") else secret
        if not secret or any(c in secret for c in "\r\n\0"):
            raise ConfigError(f"TEMOIN_IMAP_PASSWORD_FILE {path}: expected the password on one "
                              "line, got an empty file or several lines")
        return secret
    secret = env.get("TEMOIN_IMAP_PASSWORD", "")
    if secret:
        return secret
    raise ConfigError("no IMAP password: set TEMOIN_IMAP_PASSWORD_FILE to a file holding it "
                      "(or TEMOIN_IMAP_PASSWORD); it is never taken on the command line")


def quoted(name: str) -> str:
    """An IMAP quoted string (imaplib sends arguments verbatim)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def seqset(uids: Iterable[int]) -> str:
    """Sorted UIDs as a compact IMAP sequence set: 1:4,7,9:10."""
    out: list[str] = []
    run: list[int] = []
    for u in sorted(set(uids)):
        if run and u == run[-1] + 1:
            run[-1] = u
            continue
        if run:
            out.append(f"{run[0]}:{run[1]}" if run[0] != run[1] else str(run[0]))
        run = [u, u]
    if run:
        out.append(f"{run[0]}:{run[1]}" if run[0] != run[1] else str(run[0]))
    return ",".join(out)


def parse_seqset(text: str) -> set[int]:
    """The UIDs of a sequence set written by `seqset`; a damaged one reads as empty (the
    caller re-scans, which is harmless)."""
    out: set[int] = set()
    try:
        for part in filter(None, text.split(",")):
            lo, _, hi = part.partition(":")
            out.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        return set()
    return out


_BODY = re.compile(rb"BODY\[\]<(\d+)>")
_UID = re.compile(rb"UID (\d+)")


def chunks(imap: imaplib.IMAP4, uid: int) -> Iterator[bytes]:
    """The message with `uid`, CHUNK bytes per partial FETCH; nothing if it vanished."""
    offset = 0
    while True:
        typ, data = imap.uid("FETCH", str(uid), f"(BODY.PEEK[]<{offset}.{CHUNK}>)")
        chunk = None
        for item in data:
            head = item[0] if isinstance(item, tuple) else item
            if not isinstance(head, bytes) or not _BODY.search(head):
                continue
            m = _UID.search(head)
            if m and int(m.group(1)) != uid:
                continue
            chunk = item[1] if isinstance(item, tuple) else b""
        if typ != "OK" or chunk is None:
            if offset == 0:
                return  # expunged by someone else between SEARCH and FETCH
            raise FetchError(f"message UID {uid} changed on the server during the fetch; "
                             "run `temoin fetch` again")
        if chunk:
            yield chunk
        if len(chunk) < CHUNK:
            return
        offset += len(chunk)


def connect(url: ImapUrl, password: str, ca_file: Path | None, starttls: bool,
            timeout: float) -> imaplib.IMAP4:
    """Open a TLS session to `url` (certificate and host name verified) and log in."""
    where = f"{url.host}:{url.port}"
    if url.scheme == "imap" and not starttls:
        raise UrlError("imap:// would send the password and the messages in clear: use "
                       "imaps://, or add --starttls to upgrade the connection first")
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"--ca-file {ca_file}: not a readable PEM certificate ({exc})") \
            from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if url.scheme == "imaps":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(url.host, url.port, ssl_context=ctx,
                                                    timeout=timeout)
        else:
            imap = imaplib.IMAP4(url.host, url.port, timeout=timeout)
            if "STARTTLS" not in imap.capabilities:
                imap.shutdown()
                raise CryptoError(f"{where} does not offer STARTTLS: refusing to log in "
                                  "without TLS; use imaps:// if the server has it")
            imap.starttls(ssl_context=ctx)
    except ssl.SSLCertVerificationError as exc:
        raise CryptoError(f"{where}: TLS certificate not trusted ({exc.verify_message}); if "
                          "the server uses its own certificate authority, pass "
                          "--ca-file PEM") from exc
    except ssl.SSLError as exc:
        raise CryptoError(f"{where}: TLS handshake failed ({exc.reason})") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise FetchError(f"cannot connect to {where}: {exc}; check the host, the port and "
                         "the network") from exc
    try:
        if "AUTH=PLAIN" in imap.capabilities:
            token = f"\0{url.user}\0{password}".encode()
            imap.authenticate("PLAIN", lambda _challenge: token)
        else:
            imap.login(url.user, password)
    except UnicodeEncodeError:  # its message would quote a character of the password
        imap.shutdown()
        raise FetchError(f"{url.user}@{where}: the password is not ASCII and the server offers "
                         "no AUTH=PLAIN to send it as UTF-8") from None
    except imaplib.IMAP4.error as exc:
        imap.shutdown()
        raise FetchError(f"{url.user}@{where}: login refused ({exc}); check the password "
                         "in TEMOIN_IMAP_PASSWORD_FILE") from exc
    return imap


def capabilities(imap: imaplib.IMAP4) -> set[str]:
    """Capabilities after login (imaplib keeps the pre-login list, which lacks MOVE)."""
    typ, data = imap.capability()
    words = b" ".join(d for d in data if isinstance(d, bytes)).decode("ascii", "replace")
    return {w.upper() for w in words.split()}


def ok(what: str, reply: tuple[str, list[Any]]) -> list[Any]:
    """The data of an imaplib reply, or FetchError naming `what` failed and why."""
    typ, data = reply
    if typ != "OK":
        text = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise FetchError(f"{what}: the server said {typ} {text}")
    return data


def mover(imap: imaplib.IMAP4, folder: str, caps: set[str]) -> Callable[[set[int]], None]:
    """A function that moves UIDs to `folder`: UID MOVE, else COPY + \\Deleted + EXPUNGE."""
    def move(uids: set[int]) -> None:
        if not uids:
            return
        seq = seqset(uids)
        if "MOVE" in caps:
            ok(f"moving to {folder}", imap.uid("MOVE", seq, quoted(folder)))
            return
        ok(f"copying to {folder}", imap.uid("COPY", seq, quoted(folder)))
        ok("flagging \\Deleted", imap.uid("STORE", seq, "+FLAGS.SILENT", r"(\Deleted)"))
        if "UIDPLUS" in caps:
            ok("expunging", imap.uid("EXPUNGE", seq))
        else:
            ok("expunging", imap.expunge())
    return move


def close(imap: imaplib.IMAP4) -> None:
    """Log out politely; on a dead connection just close the socket."""
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError, EOFError):
        with contextlib.suppress(OSError):
            imap.shutdown()
