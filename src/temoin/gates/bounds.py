"""Bounds every gate reading keeps to, whatever a hostile file claims."""

MAX_INFLATE = 64 << 20  # bound on any decompressed member (gzip, zip, PDF stream)
