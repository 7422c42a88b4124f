"""Many confidential parts opened with one gpg run, their inner signatures checked in process.

A build opens every private part for its canaries and every sealed case it loads, each an
OpenPGP message signed by its writer then encrypted to the editors (`keys.signers`). gpg
checking each inner signature costs ~3 ms of its CPU a file (its keyrings, its trust
checks), more than the decryption itself (~2 ms). So gpg only decrypts, in one
`--decrypt-files --unwrap` run over all of them (`keys.batch`: the private-key work stays in
gpg and gpg-agent, so a key on a smartcard works as before, one PIN for the build), and
gives each file's signed message, not its plaintext; the signature in it is checked here
with Sequoia against the key files of keys/ (`Signers.judge_inline`), as `Signers.judge`
judges gpg's report of it.

This path only ever says "this part decrypted cleanly and its signature counts". A part is
given back as None, and opened as before (gpg decrypting and verifying it, `Signers.judge`
judging: the same verdict, in the same words, as before this module) when

* the run does not vouch for its decryption (`keys.batch`: exit code, its own status
  lines, one decryption with its integrity check, within `max_output`);
* what it decrypted to is not exactly one one-pass signature, one binary literal packet and
  its signature (`packets.inline_signed`: a compressed message, a text literal, several
  signatures or literals, data beside them), so no compressed data is ever inflated here;
* Sequoia does not find that signature good by a key of keys/ the trust root names now,
  made before that key's end (`Signers.judge_inline`), or it is not the shape this path
  decides (text mode, an expiry, a weak hash: gpg and `judge` say what they say of it).

`TEMOIN_VERIFY=gpg` (`keys.verify.engine`) leaves every part to gpg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temoin.keys import batch, packets, verify
from temoin.keys.signers import Opened

if TYPE_CHECKING:
    from temoin.keys.keyring import Keyring
    from temoin.keys.signers import Signers

# What one file's status lines must hold once each in an `--unwrap` run: one encrypted
# message, decrypted and its integrity checked; and never a literal or signature gpg read
# itself (it does outside an encrypted packet: data beside the message).
_ONCE = ("BEGIN_DECRYPTION", "DECRYPTION_OKAY", "GOODMDC", "END_DECRYPTION")
_NEVER = ("PLAINTEXT", "NEWSIG", "GOODSIG", "BADSIG", "ERRSIG", "VALIDSIG", "DECRYPTION_FAILED",
          "BADMDC", "FAILURE", "ERROR")


def open_signed(keyring: Keyring, items: list[bytes], signers: Signers, max_output: int,
                timeout: float = 300.0) -> list[Opened | None]:
    """Each item opened (its plaintext, its signature counting) where one gpg run and
    Sequoia vouch for both (see the module), else None: open that one as before."""
    out: list[Opened | None] = [None] * len(items)
    if len(items) < 2 or verify.engine() != "sequoia" or signers.checker() is None:
        return out
    for n, res in enumerate(batch.decrypt_all(keyring, items, max_output, timeout,
                                              ["--unwrap"])):
        if res is None or not _one_message(res.status):
            continue
        inner = packets.inline_signed(res.plaintext)
        if inner is None or len(inner[0]) > max_output:
            continue
        signature = signers.judge_inline(*inner)
        if signature is not None:
            out[n] = Opened(inner[0], signature)
    return out


def _one_message(status: dict[str, list[str]]) -> bool:
    return all(len(status.get(k) or []) == 1 for k in _ONCE) and not any(
        k in status for k in _NEVER)
