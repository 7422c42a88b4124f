"""Sealed files padded to a size class (issue 16, attack round 3).

Whoever holds the raw inbox messages knows each one's size, even encrypted. Evidence, a
sealed case.md and a private part were encrypted as they were (evidence compressed), so
their sizes followed the message's: two submissions with photos of 20,000 and 23,000
bytes left evidence files 4 KB apart, and a clone of the repository paired each case with
its message by size alone. Every confidential file is now padded inside the encryption to
a size class: a multiple of 4 KiB, or, for larger files, Padmé's (Nikitin et al., PETS
2019: at most ~12 % more, and only O(log log n) bits of the size left), and encrypted
uncompressed (compression would shrink the padding away).

- Text (a sealed case.md, a private part) is padded with newlines, which its readers
  ignore (YAML; the narrative is stripped, as the decisions' content hash has it).
- Bytes (evidence) end with zeros and a trailer naming the true length, removed on
  reading; the private part's sha256 still decides whether the bytes are the listed ones.
"""

from __future__ import annotations

import hashlib

STEP = 4096
_MAGIC = b"\0temoin-pad/1\0"
_TRAILER = len(_MAGIC) + 8


def size_class(n: int) -> int:
    """The padded size of `n` bytes: a multiple of 4 KiB, or of Padmé's step when larger."""
    n = max(n, 1)
    e = n.bit_length() - 1  # floor(log2 n)
    step = max(STEP, 1 << max(e - e.bit_length(), 0))
    return -(-n // step) * step


def pad_text(data: bytes) -> bytes:
    """`data` (UTF-8 text) followed by newlines up to its size class."""
    return data + b"\n" * (size_class(len(data)) - len(data))


def pad_bytes(data: bytes) -> bytes:
    """`data`, zeros, and a trailer holding its length, up to a size class."""
    total = size_class(len(data) + _TRAILER)
    return data + b"\0" * (total - len(data) - _TRAILER) + _MAGIC + len(data).to_bytes(8, "big")


def unpad_bytes(data: bytes, sha256: str) -> bytes:
    """The bytes `pad_bytes` padded, when `data` is not already those of `sha256` (a file
    written before padding) and ends with a well-formed trailer; else `data` unchanged."""
    if hashlib.sha256(data).hexdigest() == sha256 or len(data) < _TRAILER \
            or data[-_TRAILER:-8] != _MAGIC:
        return data
    n = int.from_bytes(data[-8:], "big")
    if n > len(data) - _TRAILER or data[n:-_TRAILER].strip(b"\0"):
        return data
    return data[:n]
