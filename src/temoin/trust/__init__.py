"""The signed trust root: who the editors are and what the safety settings are (issue 16).

The repository may be written by an adversary (a seized remote, a forged commit), so nothing
in it is trusted except what editors signed. One chain of statements in `trust/` names the
editor keys (and which PERSON holds each: four eyes count people, not keys), the partner,
inbox and site-signing keys, and the safety settings (contact address, `publish_min_level`,
`location_precision`, the consents that allow a page):

    trust/0000.json                  the founding statement (serial 0, previous null)
    trust/0000.json.<FPR>.asc        one detached signature per signing editor
    trust/0001.json …                each names the sha256 of the one before it
    trust/proposed.json (+ .asc)     a change waiting for its second signature

- The **root fingerprint** is the sha256 of `0000.json`. It is pinned OUTSIDE the repository
  (`$XDG_CONFIG_HOME/temoin/pins/<repo id>.json`), on first use or with `temoin trust pin`,
  and shown for out-of-band comparison (`temoin trust show`): a history forged from its first
  commit has another root and is refused.
- The founding statement is signed by two of its editors (its only one if it has one). Each
  later statement needs good signatures by two distinct PERSONS among the editors of the
  statement before it (its only one if it had one), whatever the change does to them: what
  the change removes, adds or relabels never lowers that number, so no editor alone
  removes the others or adds a key in another person's name.
- A revocation this machine has seen in `keys/` is never undone by an older key file
  (`keys.history`, remembered beside the pin).
- Signatures count only if made before the signing key's revocation or expiry (read from
  the keys in `keys/`); the key files must be the keys the statement names.
- The payload's `site_files` records the sha256 of every file that defines the site around
  the cases (issue 20): all of `docs_dir` (`site_src/`: hand-written pages, bulletin texts,
  `overrides/`, `assets/`), the theme's `custom_dir`, and mkdocs.yml's settings (the
  site's name, navigation…: words on every page). `temoin build` refuses to build
  while any of them differs (`require_site`): a planted page, script or stylesheet needs
  the same two editors as a new key (and the gates still judge it). A template override
  is refused before this, co-signed or not: only Témoin's own templates render.

`config.load` reads the safety settings from the latest statement (mkdocs.yml's copies are
only what an editor proposes); `require` verifies the chain and the pin, and `build`, `ingest`,
`case publish`, `share`, `check` and `verify-site` run it first.

`statements` holds the statements' files and form, the error and the verified `Root`;
`site_record` the site's own files in the root; `chain` the verification of the chain and the
key files; `pins` the pin outside the repository and `require`; `withdrawn` the withdrawals
this machine remembers; `changes` proposing, co-signing and founding, and `temoin check`'s view.
"""

from __future__ import annotations

from temoin.trust.chain import needed, signed_persons, verify_chain
from temoin.trust.changes import found, problems, propose, sign
from temoin.trust.pins import expected, pins_dir, read_pin, require, write_pin
from temoin.trust.site_record import (
    RESIGN,
    SITE_FILES,
    require_site,
    site_changes,
    site_files,
    site_folders,
)
from temoin.trust.statements import (
    FOLDER,
    KIND,
    PROPOSED,
    Root,
    TrustError,
    chain_files,
    folder,
    groups,
    latest_payload,
    payload_from,
    proposed_path,
    signature_files,
    signature_path,
    statement,
)
from temoin.trust.withdrawn import remember_withdrawn, seen_withdrawn, withdrawn_file

__all__ = ["FOLDER", "KIND", "PROPOSED", "RESIGN", "SITE_FILES", "Root", "TrustError",
           "chain_files", "expected", "folder", "found", "groups", "latest_payload",
           "needed", "payload_from", "pins_dir", "problems", "propose", "proposed_path",
           "read_pin", "remember_withdrawn", "require", "require_site", "seen_withdrawn",
           "sign", "signature_files", "signature_path", "signed_persons", "site_changes",
           "site_files", "site_folders", "statement", "verify_chain", "withdrawn_file",
           "write_pin"]
