"""Témoin: OpenPGP-encrypted testimonies in, a verified, safe, static bulletin site out."""

from __future__ import annotations

__version__ = "0.1.0"
