"""Bounds every gate reading keeps to, whatever a hostile file claims."""

import zlib

MAX_INFLATE = 64 << 20  # bound on any decompressed member (gzip, zip, PDF stream)


def inflate(data: bytes, wbits: int = zlib.MAX_WBITS,
            fields: list[bytes] | None = None) -> tuple[bytes, bool]:
    """At most MAX_INFLATE bytes of `data` decompressed (a bomb stops there, never fills
    memory), and whether that was all of it: every byte read up to a clean end, within
    the bound. A gzip file (wbits with 16 added) is read member after member, as gunzip
    and browsers read it (zlib alone stops after the first: a second member would hide
    from the gates). A truncated stream gives what inflated and False; bytes after a zlib
    stream are ignored, as PDF readers ignore an end of line before `endstream`.
    zlib.error on a damaged stream (and on bytes after a gzip member that are not one).
    `fields`, if given, receives the text each gzip member's header holds (`gzip_fields`).
    """
    if not data and not wbits & 16:
        return b"", True  # an empty stream (a blank page's) holds nothing to show
    out: list[bytes] = []
    size = 0
    while True:
        if size >= MAX_INFLATE:  # (a max_length of 0 would mean no bound at all)
            return b"".join(out), False
        if fields is not None and wbits & 16:
            fields += gzip_fields(data)
        inflater = zlib.decompressobj(wbits)
        part = inflater.decompress(data, MAX_INFLATE - size)
        out.append(part)
        size += len(part)
        if inflater.unconsumed_tail or not inflater.eof:
            return b"".join(out), False
        data = inflater.unused_data
        if not data or not wbits & 16:
            return b"".join(out), True


def gzip_fields(member: bytes) -> list[bytes]:
    """The extra field, file name and comment a gzip member's header holds (RFC 1952):
    text zlib skips, which `gunzip -N` restores as the file's name and `gzip -l` prints.
    A header cut short gives what it holds so far."""
    if len(member) < 10 or member[:2] != b"\x1f\x8b":
        return []
    flags, at, out = member[3], 10, []
    if flags & 4:  # FEXTRA: two bytes of length, then that many bytes
        size = int.from_bytes(member[at:at + 2], "little")
        out.append(member[at + 2:at + 2 + size])
        at += 2 + size
    for flag in (8, 16):  # FNAME, FCOMMENT: each up to a zero byte
        if flags & flag:
            end = member.find(b"\0", at)
            end = len(member) if end < 0 else end
            out.append(member[at:end])
            at = end + 1
    return out


_TEXT_BYTES = bytes([9, 10, 13, *range(0x20, 0x7F)])  # tab, newlines, printable ASCII


def textual(chunk: bytes) -> bool:
    """Dictionaries, content streams, XMP: text. Font programs, images, compressed bytes:
    binary, where any 3-byte name (/JS) or 8-digit run turns up by chance (at 1,000 cases
    the benchmark site's ~1,100 bulletin PDFs gave 4 '/JS' and 3 phone-number hits).
    Binary means more than 1 byte in 10 of the first 64 KiB outside `_TEXT_BYTES`, counted
    in C by deleting the others (a regex findall made a list of every such byte: three
    quarters of the gates' time on a PDF)."""
    head = chunk[:65536]
    return len(head.translate(None, _TEXT_BYTES)) <= len(head) // 10
