"""The only package that talks to GnuPG (and to Sequoia); this face names what it offers.

Every call goes through one `Keyring`: an explicit GNUPGHOME (never the user's default by
accident), batch mode, loopback pinentry, direct trust, no key fetching from the network.
Results are checked and turned into typed errors (`CryptoError`); plaintext never appears in
a message or a log.

`gpg` holds gpg's options and the reading of its status lines, `keyring` the `Keyring`,
`decrypt` the bounded decryption of hostile messages, `reasons` the quarantine reason gpg's
status amounts to, `sequoia` in-process encryption (`Sealer`), `verify` detached signatures
(in process with Sequoia, gpg where Sequoia cannot decide), `packets` the strict reading
of a detached signature it relies on, `history` the revocations a machine has seen (never
taken back), `signers` whose inner signature makes a confidential part ours (`Signers`),
`vault` encryption to the editors.
"""

from __future__ import annotations

from temoin.keys.decrypt import Decrypted
from temoin.keys.gpg import AGENT_CONF, BASE_OPTIONS, MIN_GPG, gpg_version, passphrase_from_env
from temoin.keys.keyring import KeyInfo, Keyring, key_fingerprints, open_keyring, public_keyring
from temoin.keys.sequoia import Sealer
from temoin.keys.signers import Opened, Signature, Signers

__all__ = ["AGENT_CONF", "BASE_OPTIONS", "MIN_GPG", "Decrypted", "KeyInfo", "Keyring", "Opened",
           "Sealer", "Signature", "Signers", "gpg_version", "key_fingerprints", "open_keyring",
           "passphrase_from_env", "public_keyring"]
