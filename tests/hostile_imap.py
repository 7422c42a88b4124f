"""A hostile IMAP server on 127.0.0.1 for what Dovecot cannot be made to do.

It speaks just enough IMAP over TLS for `temoin fetch` (greeting, CAPABILITY, AUTHENTICATE
PLAIN, EXAMINE/SELECT, UID SEARCH, UID FETCH, LOGOUT) about one mailbox holding message UID
1, and misbehaves as told by `mode`:

- `honest`: a well-behaved server (the control).
- `huge-literal`: answers a 1 MiB body request with a `{314572800}` literal, whose bytes it
  produces only as the client reads them.
- `endless`: declares a small RFC822.SIZE, then fills every partial FETCH to the length
  asked for, forever: a message without end.
- `flood`: answers the body request with untagged lines until the client hangs up.
- `long-line`: a greeting line that never ends.
- `stall`: sends its greeting, then nothing.
- `drip`: answers the body request one byte every 0.1 s (never silent, never done).

`answer(tag, command)`, if given, scripts one response: whatever bytes it returns for a
command (or for the command `GREETING`, before any) are sent instead of what `mode` would
send, tagged line included; None leaves the command to `mode`. Malformed numbers, literals
where words belong, hostile text in a NO or a BYE: each attack is one small function.

`sent` counts the bytes it managed to write, `body_requests` the body FETCHes it saw.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

MODES = ("honest", "huge-literal", "endless", "flood", "long-line", "stall", "drip")
HUGE = 300 << 20
_BODY = re.compile(rb"BODY\.PEEK\[\]<(\d+)\.(\d+)>")
Answer = Callable[[bytes, bytes], "bytes | None"]


class HostileServer:
    """One threaded IMAPS server; `port` to connect to, `close()` when done."""

    def __init__(self, cert: Path, key: Path, mode: str, message: bytes = b"",
                 declared: int | None = None, answer: Answer | None = None) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.answer: Answer = answer or (lambda _tag, _command: None)
        self.message = message
        self.declared = len(message) if declared is None else declared
        self.sent = 0
        self.body_requests = 0
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(cert, key)
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(4)
        self.port = int(self._sock.getsockname()[1])
        self._closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        """Stop accepting and end every connection."""
        self._closed.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                raw, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(raw,), daemon=True).start()

    def _session(self, raw: socket.socket) -> None:
        try:
            with self._ctx.wrap_socket(raw, server_side=True) as conn:
                conn.settimeout(30)
                reader = conn.makefile("rb")
                self._talk(conn, reader)
        except (OSError, ValueError):
            pass  # the client hung up on us: what a bounded client does
        finally:
            with contextlib.suppress(OSError):
                raw.close()

    def _send(self, conn: ssl.SSLSocket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)

    def _talk(self, conn: ssl.SSLSocket, reader: Any) -> None:
        if self.mode == "long-line":
            self._send(conn, b"* OK ")
            while not self._closed.is_set():
                self._send(conn, b"x" * 65536)
        self._send(conn, self.answer(b"", b"GREETING")
                   or b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile ready\r\n")
        if self.mode == "stall":
            while not self._closed.is_set() and reader.read(1):
                pass
            return
        while True:
            line = reader.readline(65536)
            if not line:
                return
            tag, _, rest = line.rstrip(b"\r\n").partition(b" ")
            cmd = rest.split(b" ", 1)[0].upper()
            if cmd == b"AUTHENTICATE":  # the credentials follow: read before answering
                self._send(conn, b"+ \r\n")
                base64.b64decode(reader.readline(65536).strip() or b"")
            if (scripted := self.answer(tag, rest)) is not None:
                self._send(conn, scripted)
            else:
                self._reply(conn, tag, rest, cmd)
            if cmd == b"LOGOUT":
                return

    def _reply(self, conn: ssl.SSLSocket, tag: bytes, rest: bytes, cmd: bytes) -> None:
        """What `mode` answers to one command, its tagged OK last."""
        if cmd == b"CAPABILITY":
            self._send(conn, b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n")
        elif cmd in (b"EXAMINE", b"SELECT"):
            self._send(conn, b"* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n")
        elif cmd == b"UID" and rest.split(b" ")[1].upper() == b"SEARCH":
            self._send(conn, b"* SEARCH 1\r\n")
        elif cmd == b"UID" and b"RFC822.SIZE" in rest:
            self._send(conn, f"* 1 FETCH (UID 1 RFC822.SIZE {self.declared})\r\n".encode())
        elif cmd == b"UID" and (m := _BODY.search(rest)):
            self.body_requests += 1
            self._body(conn, int(m.group(1)), int(m.group(2)))
        elif cmd == b"LOGOUT":
            self._send(conn, b"* BYE bye\r\n")
        self._send(conn, tag + b" OK done\r\n")

    def _body(self, conn: ssl.SSLSocket, offset: int, length: int) -> None:
        head = f"* 1 FETCH (UID 1 BODY[]<{offset}> ".encode()
        if self.mode == "honest":
            part = self.message[offset:offset + length]
            self._send(conn, head + b"{%d}\r\n" % len(part) + part + b")\r\n")
        elif self.mode == "endless":
            self._send(conn, head + b"{%d}\r\n" % length)
            for piece in _lazy(length):
                self._send(conn, piece)
            self._send(conn, b")\r\n")
        elif self.mode == "huge-literal":
            self._send(conn, head + b"{%d}\r\n" % HUGE)
            for piece in _lazy(HUGE):
                self._send(conn, piece)
            self._send(conn, b")\r\n")
        elif self.mode == "flood":
            while True:
                self._send(conn, b"* OK still here\r\n" * 1000)
        elif self.mode == "drip":
            self._send(conn, head + b"{%d}\r\n" % length)
            for _ in range(length):
                self._send(conn, b"x")
                time.sleep(0.1)


def _lazy(total: int) -> Iterator[bytes]:
    """`total` bytes of armor-like text, 64 KiB at a time, made only as they are sent."""
    piece = (b"A" * 63 + b"\n") * 1024
    while total > 0:
        yield piece[:total]
        total -= len(piece)
