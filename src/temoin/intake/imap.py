"""The IMAP client side of `temoin fetch`: URL, password, verified TLS, partial FETCH, MOVE.

Python's imaplib speaks the protocol; this module adds what it leaves to the caller: a
verified TLS context (system CAs or --ca-file, TLS 1.2 at least), STARTTLS or nothing,
quoting of folder names, post-login capabilities, and bounded reads of each message.

The server is not trusted. imaplib reads whatever literal a server announces into memory
and keeps every untagged response it is sent, so `BoundedIMAP` replaces its two reading
primitives: every line, every literal and every command's whole answer has a size cap,
every command a deadline, and a silent connection an idle timeout. A server that breaks
one is refused (`ServerRefused`) before the bytes over the cap are read.
"""

from __future__ import annotations

import contextlib
import imaplib
import io
import math
import os
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

from temoin.errors import EXIT_USAGE, ConfigError, CryptoError, TemoinError

CHUNK = 1 << 20  # bytes per partial FETCH: memory stays bounded whatever the message size
TIMEOUT = 60.0   # seconds without a byte from the server before it counts as stalled
DEADLINE = 600.0  # seconds for one message (all its chunks), and for any other command
MAX_LINE = 1 << 20  # longest response line: a SEARCH of ~100,000 UIDs fits
MAX_LITERAL = 1 << 16  # literal outside a message body (greeting, folder names)
MAX_ANSWER = 4 << 20  # bytes of one command's whole answer, besides the body asked for
MAX_RESPONSES = 10_000  # untagged responses to one command (EXPUNGE bursts fit)
_PIECE = 1 << 16  # bytes per socket read, so deadlines are checked while a literal comes


class FetchError(TemoinError):
    """A mailbox could not be read completely; what was saved stays saved."""


class ServerRefused(FetchError):
    """The server broke a bound (size, count or time): the fetch gives up on it.

    `stalled` tells a slow or silent server from one that sent too much: only the latter
    is held against the message being fetched."""

    def __init__(self, reason: str, *, stalled: bool = False) -> None:
        self.reason = reason
        self.stalled = stalled
        super().__init__(reason)


MALFORMED = (ValueError, TypeError, AttributeError, IndexError, KeyError)
"""What Python raises when it parses a response that is not IMAP (a word or a 5,000-digit
number where a number belongs, a literal where a line belongs, bytes that are not ASCII):
every such exception while talking to a server is the server's doing, and is refused."""
_NUMBER = re.compile(rb"[0-9]{1,20}")


def malformed(what: str, exc: BaseException | None = None) -> ServerRefused:
    """The refusal of a response that is not what IMAP allows (`what`: where it was)."""
    why = f" ({type(exc).__name__}: {str(exc)[:200]})" if exc is not None else ""
    return ServerRefused(f"the server sent a malformed response {what}{why}")


def number(value: Any, what: str) -> int:
    """A number the server sent (a UID, a size, UIDVALIDITY), read strictly: 1 to 20 ASCII
    digits, else the response is refused as malformed."""
    if isinstance(value, str):
        value = value.encode("ascii", "replace")
    if not isinstance(value, bytes) or not _NUMBER.fullmatch(value):
        shown = repr(value[:40]) if isinstance(value, (bytes, str)) else type(value).__name__
        raise malformed(f"where {what} was expected: {shown}")
    return int(value)


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
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _heads(data: list[Any], uid: int) -> Iterator[tuple[bytes, Any]]:
    """(response line, item) of each FETCH response in `data` about `uid`."""
    for item in data:
        head = item[0] if isinstance(item, tuple) else item
        if not isinstance(head, bytes):
            continue
        m = _UID.search(head)
        if m and number(m.group(1), "a UID") != uid:
            continue
        yield head, item


def declared_size(imap: BoundedIMAP, uid: int) -> int | None:
    """The size the server gives for message `uid` (RFC822.SIZE), before any of it is
    downloaded; None if it vanished. A lie costs nothing: `chunks` stops at its own cap."""
    typ, data = imap.uid("FETCH", str(uid), "(UID RFC822.SIZE)")
    if typ != "OK":
        return None
    for head, _ in _heads(data, uid):
        if m := _SIZE.search(head):
            return number(m.group(1), "RFC822.SIZE")
    return None


def chunks(imap: BoundedIMAP, uid: int, most: int) -> Iterator[bytes]:
    """At most `most` bytes of message `uid`, CHUNK bytes per partial FETCH (RFC 3501
    BODY[]<offset.length>), never more than asked for read from the connection; nothing
    if the message vanished."""
    offset = 0
    while offset < most:
        ask = min(CHUNK, most - offset)
        imap.body(ask)  # the answer may hold one literal of this size, no more
        typ, data = imap.uid("FETCH", str(uid), f"(BODY.PEEK[]<{offset}.{ask}>)")
        chunk = None
        for head, item in _heads(data, uid):
            if _BODY.search(head):
                chunk = item[1] if isinstance(item, tuple) else b""
        if typ != "OK" or chunk is None:
            if offset == 0:
                return  # expunged by someone else between SEARCH and FETCH
            raise FetchError(f"message UID {uid} changed on the server during the fetch; "
                             "run `temoin fetch` again")
        if len(chunk) > ask:  # a quoted string instead of a literal; bounded by MAX_LINE
            raise ServerRefused(f"the server sent {len(chunk)} bytes of message UID {uid} "
                                f"where {ask} were asked for")
        if chunk:
            yield chunk
        if len(chunk) < ask:
            return
        offset += len(chunk)


class BoundedIMAP(imaplib.IMAP4):
    """imaplib with bounded reads: see the module docstring. `body(n)` lets the next
    command's answer carry one literal of up to n bytes (a chunk of a message)."""

    def __init__(self, *args: Any, idle: float, deadline: float, **kwargs: Any) -> None:
        self.idle, self.deadline = idle, deadline
        self.broken = False  # a bound tripped: the connection is out of step, never reuse it
        self._body = 0
        self._until = math.inf  # the current message's deadline, if one is being fetched
        self._start()  # the greeting counts as a command
        kwargs["timeout"] = idle
        super().__init__(*args, **kwargs)

    def _start(self) -> None:
        self._literal, self._body = max(MAX_LITERAL, self._body), 0
        self._left = MAX_ANSWER + self._literal
        self._responses = 0
        self._due = min(time.monotonic() + self.deadline, self._until)

    def body(self, size: int) -> None:
        """Allow the next command's answer one literal of up to `size` bytes."""
        self._body = size

    @contextlib.contextmanager
    def message(self) -> Iterator[None]:
        """Every command inside must be answered before one common deadline."""
        self._until = time.monotonic() + self.deadline
        try:
            yield
        finally:
            self._until = math.inf

    def _command(self, name: str, *args: Any) -> bytes:
        # imaplib keeps every untagged response of unknown type forever: keep only those of
        # the command at hand (what a command needs, it reads before the next one starts).
        for typ in [t for t in self.untagged_responses if t != "READ-ONLY"]:
            del self.untagged_responses[typ]
        self._start()
        tag: bytes = super()._command(name, *args)  # type: ignore[misc]
        return tag

    def _get_response(self) -> Any:
        # imaplib parses each response with int() and str(); what it cannot parse is the
        # server's fault, refused like any other broken bound.
        try:
            return super()._get_response()  # type: ignore[misc]
        except MALFORMED as exc:
            self.broken = True
            raise malformed("(imaplib could not parse it)", exc) from None

    def _refuse(self, reason: str, *, stalled: bool = False) -> ServerRefused:
        self.broken = True
        return ServerRefused(reason, stalled=stalled)

    def _piece(self, size: int, line: bool) -> bytes:
        """At most `size` bytes (up to a newline if `line`), within the idle timeout and
        the command's deadline."""
        left = self._due - time.monotonic()
        if left <= 0:
            raise self._refuse(f"no complete answer within {self.deadline:g} s (the server "
                               "is too slow or stalls)", stalled=True)
        self.sock.settimeout(min(self.idle, left))
        try:
            # At most one socket read per call (read1, peek), so a server that drips a
            # byte at a time still meets the deadline check between two calls.
            stream = cast(io.BufferedReader, self.file)
            if line:
                seen = stream.peek(1)[:size]
                end = seen.find(b"\n")
                data = stream.read(end + 1 if end >= 0 else len(seen))
            else:
                data = stream.read1(size)
        except TimeoutError:  # the socket's (socket.timeout is TimeoutError)
            if left < self.idle:
                raise self._refuse(f"no complete answer within {self.deadline:g} s (the "
                                   "server is too slow or stalls)", stalled=True) from None
            raise self._refuse(f"the server sent nothing for {self.idle:g} s (it stalls)",
                               stalled=True) from None
        self._left -= len(data)
        if self._left < 0:
            raise self._refuse(f"an answer to one command exceeded {MAX_ANSWER + self._literal}"
                               " bytes (the server floods)")
        return data

    def read(self, size: int) -> bytes:
        if size > self._literal:
            raise self._refuse(f"the server announced a {size}-byte literal where at most "
                               f"{self._literal} bytes were asked for")
        self._literal = MAX_LITERAL  # one body literal per command
        out = []
        while size > 0:
            data = self._piece(min(size, _PIECE), line=False)
            if not data:
                break  # EOF: imaplib reports the short read
            out.append(data)
            size -= len(data)
        return b"".join(out)

    def readline(self) -> bytes:
        self._responses += 1
        if self._responses > MAX_RESPONSES:
            raise self._refuse(f"more than {MAX_RESPONSES} responses to one command (the "
                               "server floods)")
        out, length = [], 0
        while True:
            data = self._piece(min(MAX_LINE + 1 - length, _PIECE), line=True)
            out.append(data)
            length += len(data)
            if not data or data.endswith(b"\n"):
                return b"".join(out)
            if length > MAX_LINE:
                raise self._refuse(f"a response line longer than {MAX_LINE} bytes")


class _BoundedPlain(BoundedIMAP):
    """Plain IMAP (upgraded with STARTTLS before login)."""


class _BoundedTLS(BoundedIMAP, imaplib.IMAP4_SSL):
    """IMAP over TLS from the first byte (imaps://)."""


def connect(url: ImapUrl, password: str, ca_file: Path | None, starttls: bool,
            timeout: float, deadline: float = DEADLINE) -> BoundedIMAP:
    """Open a TLS session to `url` (certificate and host name verified) and log in.
    `timeout`: seconds of silence before the server counts as stalled; `deadline`: seconds
    for any one command (the greeting included)."""
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
            imap: BoundedIMAP = _BoundedTLS(url.host, url.port, ssl_context=ctx, idle=timeout,
                                         deadline=deadline)
        else:
            imap = _BoundedPlain(url.host, url.port, idle=timeout, deadline=deadline)
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
    except ServerRefused as exc:  # a greeting too long, too slow, or none at all
        raise ServerRefused(f"cannot connect: {exc.reason}", stalled=exc.stalled) from None
    except MALFORMED as exc:  # e.g. capabilities that are not ASCII
        raise malformed("to the greeting or CAPABILITY", exc) from None
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
    except ServerRefused:
        imap.shutdown()
        raise
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


def close(imap: BoundedIMAP) -> None:
    """Log out politely; on a dead or refused connection just close the socket."""
    if imap.broken:  # out of step with the server: a LOGOUT would wait for nothing
        with contextlib.suppress(OSError):
            imap.shutdown()
        return
    try:
        imap.logout()
    except (imaplib.IMAP4.error, OSError, EOFError):
        with contextlib.suppress(OSError):
            imap.shutdown()
