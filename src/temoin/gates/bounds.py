"""Bounds every gate reading keeps to, whatever a hostile file claims."""

import zlib

MAX_INFLATE = 64 << 20  # bound on any decompressed member (gzip, zip, PDF stream)


def inflate(data: bytes, wbits: int = zlib.MAX_WBITS) -> tuple[bytes, bool]:
    """At most MAX_INFLATE bytes of `data` decompressed (a bomb stops there, never fills
    memory), and whether that was all of it. zlib.error on a broken stream."""
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, MAX_INFLATE)
    return out, not inflater.unconsumed_tail
