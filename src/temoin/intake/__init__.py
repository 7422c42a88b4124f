"""Intake: ciphertext in (fetch, IMAP, inbox files), draft cases out.

Decrypt, MIME, the submission form, prefill; the online side never decrypts."""
