"""Sharing with partners: encrypted, signed, consent-checked dossiers and their receipts."""
