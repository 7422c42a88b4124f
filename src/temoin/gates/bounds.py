"""Bounds every gate reading keeps to, whatever a hostile file claims."""

import zlib

MAX_INFLATE = 64 << 20  # bound on any decompressed member (gzip, zip, PDF stream)


def gzip_fields(member: bytes) -> bytes:
    """The header fields a gzip member (RFC 1952) starting at `member` carries besides its
    data: FEXTRA, FNAME, FCOMMENT, each followed by a newline. Readers show them (`gzip -lN`
    lists the name, `gunzip -N` names the file after it, an editor shows the header as it
    is), and inflating never returns them (attack round 20)."""
    if len(member) < 10 or member[:2] != b"\x1f\x8b":
        return b""
    flags, pos, out = member[3], 10, []
    if flags & 4 and len(member) >= pos + 2:
        size = int.from_bytes(member[pos:pos + 2], "little")
        out.append(member[pos + 2:pos + 2 + size])
        pos += 2 + size
    for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            end = member.find(b"\0", pos)
            end = len(member) if end < 0 else end
            out.append(member[pos:end])
            pos = end + 1
    return b"".join(field + b"\n" for field in out)


def inflate(data: bytes, wbits: int = zlib.MAX_WBITS,
            fields: list[bytes] | None = None) -> tuple[bytes, bool]:
    """At most MAX_INFLATE bytes of `data` decompressed (a bomb stops there, never fills
    memory), and whether that was all of it: every byte read up to a clean end, within
    the bound. A gzip file (wbits with 16 added) is read member after member, as gunzip
    and browsers read it (zlib alone stops after the first: a second member would hide
    from the gates). A truncated stream gives what inflated and False; bytes after a zlib
    stream are ignored, as PDF readers ignore an end of line before `endstream`.
    zlib.error on a damaged stream (and on bytes after a gzip member that are not one).
    `fields`, if given, receives each gzip member's header fields (`gzip_fields`)."""
    if not data and not wbits & 16:
        return b"", True  # an empty stream (a blank page's) holds nothing to show
    out: list[bytes] = []
    size = 0
    while True:
        if size >= MAX_INFLATE:  # (a max_length of 0 would mean no bound at all)
            return b"".join(out), False
        inflater = zlib.decompressobj(wbits)
        if fields is not None and wbits & 16:
            fields.append(gzip_fields(data[:1 << 20]))
        part = inflater.decompress(data, MAX_INFLATE - size)
        out.append(part)
        size += len(part)
        if inflater.unconsumed_tail or not inflater.eof:
            return b"".join(out), False
        data = inflater.unused_data
        if not data or not wbits & 16:
            return b"".join(out), True
