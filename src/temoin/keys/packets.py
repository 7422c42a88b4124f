"""A detached signature read strictly, byte by byte: one armor block or binary data holding
exactly one OpenPGP signature packet, and the few fields of it the verifier decides on.

Anything this reader does not know for certain (other armor, several packets, partial
lengths, a critical subpacket it does not list, an unknown version) gives None: the
signature then goes to gpg, whose verdict counts (`keys.verify`)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

_BEGIN = b"-----BEGIN PGP SIGNATURE-----"
_END = b"-----END PGP SIGNATURE-----"
_HEADERS = (b"Version", b"Comment")  # what gpg and Sequoia write; anything else: gpg decides
_HEADER = re.compile(rb"^([A-Za-z][A-Za-z0-9-]*): ?(.*)$")
_BASE64 = re.compile(rb"^[A-Za-z0-9+/]+={0,2}$")
# Subpackets that may be marked critical here: creation time, expiration, issuer key id,
# issuer fingerprint (RFC 4880 §5.2.3.1; RFC 9580 §5.2.3.35). Another critical one (a
# notation, a policy URL…) is left to gpg: gpg and Sequoia do not refuse the same ones.
_CRITICAL_OK = {2, 3, 16, 33}


@dataclass(frozen=True)
class Signature:
    """The fields of a v4 signature packet the in-process verifier reads."""

    packet: bytes                 # the binary packet (header and body) for Sequoia
    kind: int                     # signature type: 0 binary document, 1 canonical text
    pubkey_algo: int
    hash_algo: int
    created: int                  # hashed creation time, seconds since the epoch
    expires: int                  # hashed signature expiration (seconds after creation), 0: never
    issuer_fpr: str | None        # upper-case hex, from subpacket 33 (either area)
    issuer_keyid: str | None      # upper-case hex, from subpacket 16 (either area)


def dearmor(data: bytes) -> bytes | None:
    """The binary bytes of `data`: itself when binary, the body of exactly one
    `PGP SIGNATURE` armor block (headers Version/Comment only, a checksum if present
    that matches, nothing but white space after it), else None."""
    if not data:
        return None
    if data[0] & 0x80:
        return data
    if not data.startswith(_BEGIN):
        return None
    lines = data.split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    if lines[0] != _BEGIN:
        return None
    n = 1
    while n < len(lines) and lines[n] != b"":
        m = _HEADER.match(lines[n])
        if not m or m.group(1) not in _HEADERS:
            return None
        n += 1
    n += 1  # the blank line
    body: list[bytes] = []
    crc: bytes | None = None
    while n < len(lines) and lines[n] != _END:
        line = lines[n]
        if line.startswith(b"=") and len(line) == 5 and crc is None:
            crc = line[1:]
        elif crc is None and _BASE64.match(line):
            body.append(line)
        else:
            return None
        n += 1
    if n >= len(lines) or any(line.strip(b" \t") for line in lines[n + 1:]):
        return None
    try:
        raw = base64.b64decode(b"".join(body), validate=True)
        want = base64.b64decode(crc, validate=True) if crc is not None else None
    except (binascii.Error, ValueError):
        return None
    if not raw or (want is not None and want != _crc24(raw).to_bytes(3, "big")):
        return None
    return raw


def _crc24_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        crc = n << 16
        for _ in range(8):
            crc = (crc << 1) ^ (0x1864CFB if crc & 0x800000 else 0)
        table.append(crc & 0xFFFFFF)
    return tuple(table)


_CRC24 = _crc24_table()  # a constant: the CRC-24 of each byte value


def _crc24(data: bytes) -> int:
    """The armor checksum (RFC 4880 §6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ _CRC24[(crc >> 16) ^ byte]
    return crc


def _header(raw: bytes) -> tuple[int, int, int] | None:
    """(tag, header length, body length) of the packet at the start of `raw`, definite
    lengths only (old and new format), or None."""
    if len(raw) < 2 or not raw[0] & 0x80:
        return None
    ctb = raw[0]
    if ctb & 0x40:
        tag, first = ctb & 0x3F, raw[1]
        if first < 192:
            return tag, 2, first
        if first < 224 and len(raw) >= 3:
            return tag, 3, ((first - 192) << 8) + raw[2] + 192
        if first == 255 and len(raw) >= 6:
            return tag, 6, int.from_bytes(raw[2:6], "big")
        return None  # partial body lengths, or too short
    tag, kind = (ctb >> 2) & 0x0F, ctb & 0x03
    size = {0: 1, 1: 2, 2: 4}.get(kind)
    if size is None or len(raw) < 1 + size:
        return None  # indeterminate length
    return tag, 1 + size, int.from_bytes(raw[1:1 + size], "big")


def _subpackets(area: bytes) -> list[tuple[int, bool, bytes]] | None:
    """[(type, critical, data)] of a subpacket area, or None when it does not parse."""
    out = []
    pos = 0
    while pos < len(area):
        first = area[pos]
        if first < 192:
            hlen, length = 1, first
        elif first < 255:
            if pos + 1 >= len(area):
                return None
            hlen, length = 2, ((first - 192) << 8) + area[pos + 1] + 192
        else:
            if pos + 5 > len(area):
                return None
            hlen, length = 5, int.from_bytes(area[pos + 1:pos + 5], "big")
        if length < 1 or pos + hlen + length > len(area):
            return None
        kind = area[pos + hlen]
        out.append((kind & 0x7F, bool(kind & 0x80), area[pos + hlen + 1:pos + hlen + length]))
        pos += hlen + length
    return out


def signature(raw: bytes) -> Signature | None:
    """The one v4 signature packet `raw` (binary) consists of, or None."""
    head = _header(raw)
    if head is None:
        return None
    tag, hlen, blen = head
    if tag != 2 or hlen + blen != len(raw) or blen < 10:
        return None
    body = raw[hlen:]
    if body[0] != 4:
        return None
    kind, algo, hash_algo = body[1], body[2], body[3]
    hashed_len = int.from_bytes(body[4:6], "big")
    end_hashed = 6 + hashed_len
    if end_hashed + 2 > len(body):
        return None
    unhashed_len = int.from_bytes(body[end_hashed:end_hashed + 2], "big")
    end_unhashed = end_hashed + 2 + unhashed_len
    if end_unhashed + 2 > len(body):
        return None
    hashed = _subpackets(body[6:end_hashed])
    unhashed = _subpackets(body[end_hashed + 2:end_unhashed])
    if hashed is None or unhashed is None:
        return None
    if any(crit and t not in _CRITICAL_OK for t, crit, _ in hashed) \
            or any(crit for _, crit, _ in unhashed):
        return None
    created = [d for t, _, d in hashed if t == 2]
    expiry = [d for t, _, d in hashed if t == 3]
    if len(expiry) > 1 or any(len(d) != 4 for d in expiry):
        return None
    fprs = {d[1:].hex().upper() for t, _, d in hashed + unhashed
            if t == 33 and len(d) == 21 and d[0] == 4}
    ids = {d.hex().upper() for t, _, d in hashed + unhashed if t == 16 and len(d) == 8}
    odd_ids = any(t == 33 and not (len(d) == 21 and d[0] == 4) for t, _, d in hashed + unhashed) \
        or any(t == 16 and len(d) != 8 for t, _, d in hashed + unhashed)
    if len(created) != 1 or len(created[0]) != 4 or len(fprs) > 1 or len(ids) > 1 or odd_ids:
        return None
    return Signature(raw, kind, algo, hash_algo, int.from_bytes(created[0], "big"),
                     int.from_bytes(expiry[0], "big") if expiry else 0,
                     next(iter(fprs), None), next(iter(ids), None))


# -- a signed message, as `gpg --unwrap` gives the inside of an encrypted one -----------------
def _packet(raw: bytes, pos: int, partial_ok: bool) -> tuple[int, bytes, int] | None:
    """(tag, body, position after it) of the packet at `pos`; partial body lengths (new
    format) only where `partial_ok`, their chunks joined; else None."""
    head = _header(raw[pos:pos + 6])
    if head is not None:
        tag, hlen, blen = head
        end = pos + hlen + blen
        return (tag, raw[pos + hlen:end], end) if end <= len(raw) else None
    if not partial_ok or pos + 2 > len(raw) or raw[pos] & 0xC0 != 0xC0:
        return None
    tag, pos, chunks = raw[pos] & 0x3F, pos + 1, []
    while pos < len(raw) and 224 <= raw[pos] < 255:  # a partial chunk, more to come
        size = 1 << (raw[pos] & 0x1F)
        chunks.append(raw[pos + 1:pos + 1 + size])
        pos += 1 + size
    if pos > len(raw) or not chunks or len(chunks[0]) < 512:  # RFC 4880 §4.2.2.4
        return None
    last = _header(bytes([0xC0 | tag]) + raw[pos:pos + 5])  # the last, definite length
    if last is None:
        return None
    _tag, hlen, blen = last
    end = pos + hlen - 1 + blen
    if end > len(raw):
        return None
    return tag, b"".join([*chunks, raw[pos + hlen - 1:end]]), end


def inline_signed(raw: bytes) -> tuple[bytes, Signature] | None:
    """(the data, its signature) of a message that is exactly one one-pass signature packet,
    one binary literal data packet and the one v4 signature packet it announces, of the
    same type, hash, key algorithm and issuer; else None (compressed data, a text literal,
    several signatures, anything more or less: gpg reads it, whose verdict counts)."""
    ops = _packet(raw, 0, False)
    lit = _packet(raw, ops[2], True) if ops is not None else None
    if ops is None or lit is None or ops[0] != 4 or lit[0] != 11:
        return None
    sig_head = _header(raw[lit[2]:lit[2] + 6])
    if sig_head is None or lit[2] + sig_head[1] + sig_head[2] != len(raw):
        return None
    sig = signature(raw[lit[2]:])
    body, lit_body = ops[1], lit[1]
    if sig is None or len(body) != 13 or body[0] != 3 or body[12] != 1:
        return None
    keyid = body[4:12].hex().upper()
    if (body[1], body[2], body[3]) != (sig.kind, sig.hash_algo, sig.pubkey_algo) or \
            (sig.issuer_keyid or (sig.issuer_fpr or "")[-16:]) != keyid:
        return None
    if len(lit_body) < 6 or lit_body[0] != ord("b") or 2 + lit_body[1] + 4 > len(lit_body):
        return None
    return lit_body[2 + lit_body[1] + 4:], sig
