"""Bytes -> `EmailMessage`: the standard library's parser, each distinct header parsed
once and long base64 runs handed to it as one line each."""

from __future__ import annotations

import email
import email.headerregistry
import email.policy
import functools
import re
import secrets
from email.message import EmailMessage, Message


class _Headers(email.headerregistry.HeaderRegistry):
    """The default policy's header parsing, done once per distinct header.

    The standard library parses a header again at every read (`get_content_type`,
    `get_param`, the parser's own boundary lookups: ~45 times per submission) and builds a
    new header class each time. Same parser, same results: header objects are immutable,
    so a bounded cache returns the one already built."""

    def __getitem__(self, name: str) -> type[email.headerregistry.BaseHeader]:
        cls = self.registry.get(name.lower(), self.default_class)
        return _header_class(cls, self.base_class)

    def __call__(self, name: str, value: str) -> email.headerregistry.BaseHeader:
        if len(value) > 2048:
            return self[name](name, value)
        return _parsed_header(self, name, value)


@functools.cache
def _header_class(cls: type, base: type) -> type[email.headerregistry.BaseHeader]:
    return type("_" + cls.__name__, (cls, base), {})


@functools.lru_cache(maxsize=512)
def _parsed_header(registry: _Headers, name: str,
                   value: str) -> email.headerregistry.BaseHeader:
    return registry[name](name, value)


POLICY = email.policy.default.clone(header_factory=_Headers())
# Eight or more lines in a row made only of base64 characters (a base64 or armored body).
_B64_RUN = re.compile(rb"^(?:[A-Za-z0-9+/=]+\r?\n){8,}", re.MULTILINE)
_STAND_IN = re.compile(r"(tm[0-9a-f]{24})x(\d+)x")


def parse(raw: bytes) -> EmailMessage:
    """`raw` parsed by the standard library's parser, whose structure it decides alone, with
    long base64 runs handed to it as one line each and put back afterwards.

    The parser costs ~2 µs a line whatever the line; a 40 KB attachment is 700 lines. A line
    of base64 characters can be neither a header, a continuation, a boundary nor a unix
    From: the parser treats every such line alike, so one (an unguessable token, also base64
    characters, ending as the run's last line ends) stands for the run in every context, and
    each part's payload, preamble and epilogue get the run's exact text back before anyone
    reads them (hence the same base64 decoding and defects)."""
    nonce = "tm" + secrets.token_hex(12)
    runs: list[str] = []

    def stand_in(m: re.Match[bytes]) -> bytes:
        run = m.group(0)
        end = 2 if run.endswith(b"\r\n") else 1
        runs.append(run[:-end].decode("ascii"))
        return f"{nonce}x{len(runs) - 1}x".encode("ascii") + run[-end:]

    msg = email.message_from_bytes(_B64_RUN.sub(stand_in, raw), policy=POLICY)
    if not runs:
        return msg

    def back(text: str) -> str:
        if nonce not in text:
            return text
        return _STAND_IN.sub(lambda m: runs[int(m.group(2))] if m.group(1) == nonce
                             else m.group(0), text)

    todo: list[Message] = [msg]
    while todo:
        part = todo.pop()
        part.preamble = back(part.preamble) if part.preamble else part.preamble
        part.epilogue = back(part.epilogue) if part.epilogue else part.epilogue
        payload = part._payload  # type: ignore[attr-defined]  # as parsed, not decoded
        if isinstance(payload, list):
            todo.extend(p for p in payload if isinstance(p, Message))
        elif isinstance(payload, str):
            part._payload = back(payload)  # type: ignore[attr-defined]
    return msg
