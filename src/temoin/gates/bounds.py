"""Bounds every gate reading keeps to, whatever a hostile file claims."""

import zlib

MAX_INFLATE = 64 << 20  # bound on any decompressed member (gzip, zip, PDF stream)


def inflate(data: bytes, wbits: int = zlib.MAX_WBITS) -> tuple[bytes, bool]:
    """At most MAX_INFLATE bytes of `data` decompressed (a bomb stops there, never fills
    memory), and whether that was all of it: every byte read up to a clean end, within
    the bound. A gzip file (wbits with 16 added) is read member after member, as gunzip
    and browsers read it (zlib alone stops after the first: a second member would hide
    from the gates). A truncated stream gives what inflated and False; bytes after a zlib
    stream are ignored, as PDF readers ignore an end of line before `endstream`.
    zlib.error on a damaged stream (and on bytes after a gzip member that are not one)."""
    if not data and not wbits & 16:
        return b"", True  # an empty stream (a blank page's) holds nothing to show
    out: list[bytes] = []
    size = 0
    while True:
        if size >= MAX_INFLATE:  # (a max_length of 0 would mean no bound at all)
            return b"".join(out), False
        inflater = zlib.decompressobj(wbits)
        part = inflater.decompress(data, MAX_INFLATE - size)
        out.append(part)
        size += len(part)
        if inflater.unconsumed_tail or not inflater.eof:
            return b"".join(out), False
        data = inflater.unused_data
        if not data or not wbits & 16:
            return b"".join(out), True
