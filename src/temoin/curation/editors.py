"""Who acts: the acting editor named by --editor or TEMOIN_EDITOR (any unambiguous part of a
name, e-mail or fingerprint), else the only editor whose secret key is at hand."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from temoin.config import Config, Editor
from temoin.errors import ConfigError

if TYPE_CHECKING:
    from temoin.keys import Keyring

# -- who acts ----------------------------------------------------------------------------
def acting_editor(cfg: Config, keyring: Keyring | None, given: str | None,
                  emails: Callable[[], dict[str, list[str]]] | None = None) -> str:
    """The acting editor's fingerprint: `given` (--editor or TEMOIN_EDITOR: any unambiguous
    part of an editor's name, e-mail or fingerprint; see `match_editor`), else the only
    editor whose secret key is in GNUPGHOME. Raises ConfigError when none or several could
    act."""
    if not cfg.recipients:
        raise ConfigError("no editors configured (plugins.temoin.recipients in mkdocs.yml): "
                          "add one with `temoin keys import FILE --as editor`")
    if given:
        if emails is None and keyring is not None:
            emails = functools.partial(editor_emails, cfg, keyring)
        return match_editor(cfg, given, emails)
    if keyring is None:
        raise ConfigError("who is acting? pass --editor FPR or set TEMOIN_EDITOR")
    held = {k.fingerprint for k in keyring.list(secret=True)}
    mine = [e for e in cfg.recipients if e.fingerprint in held]
    if len(mine) == 1:
        return mine[0].fingerprint
    if not mine:
        raise ConfigError(f"no editor secret key in {keyring.home}: import yours there, or say "
                          "who acts with --editor FPR or TEMOIN_EDITOR")
    found = ", ".join(f"{e.name} {e.fingerprint}" for e in mine)
    raise ConfigError(f"several editor keys in {keyring.home} ({found}): say who acts with "
                      "--editor FPR or TEMOIN_EDITOR")


_EMAIL = re.compile(r"<([^<>@\s]+@[^<>\s]+)>|([^<>@\s]+@[^<>\s]+)")


def editor_emails(cfg: Config, keyring: Keyring) -> dict[str, list[str]]:
    """The e-mail addresses in the user ids of each editor's key in `keyring`."""
    wanted = set(cfg.recipient_fingerprints)
    out: dict[str, list[str]] = {}
    for k in keyring.list():
        if k.fingerprint in wanted:
            out[k.fingerprint] = [m.group(1) or m.group(2) for uid in k.uids
                                  for m in [_EMAIL.search(uid)] if m]
    return out


def match_editor(cfg: Config, given: str,
                 emails: Callable[[], dict[str, list[str]]] | None = None) -> str:
    """The editor `given` names: a whole fingerprint, name or e-mail, else any part of one
    that only one editor has (case and spaces ignored). Ambiguous or unknown: ConfigError
    listing the candidates. `emails`: the editors' e-mail addresses (from their keys), read
    only when the name or fingerprint alone does not decide."""
    want = given.strip().casefold()
    hexwant = want.replace(" ", "").upper()
    if not want:
        raise ConfigError("--editor/TEMOIN_EDITOR is empty: give part of an editor's name, "
                          "e-mail or fingerprint")
    exact = [e for e in cfg.recipients
             if hexwant == e.fingerprint or want == e.name.casefold()]
    if len(exact) == 1:
        return exact[0].fingerprint
    addresses = emails() if emails is not None and not exact else {}
    exact = exact or [e for e in cfg.recipients
                      if want in (a.casefold() for a in addresses.get(e.fingerprint, []))]
    found = exact or [e for e in cfg.recipients
                      if want in e.name.casefold() or hexwant in e.fingerprint
                      or any(want in a.casefold() for a in addresses.get(e.fingerprint, []))]
    if len(found) == 1:
        return found[0].fingerprint

    def listed(eds: Iterable[Editor]) -> str:
        return "; ".join(f"{e.name} {' '.join(addresses.get(e.fingerprint, []))} "
                         f"{e.fingerprint}".replace("  ", " ") for e in eds)

    if found:
        raise ConfigError(f"--editor/TEMOIN_EDITOR {given!r} matches {len(found)} editors "
                          f"({listed(found)}): give more of the name, e-mail or fingerprint")
    raise ConfigError(f"--editor/TEMOIN_EDITOR {given!r} is not an editor: no name, e-mail or "
                      f"fingerprint in mkdocs.yml recipients holds it ({listed(cfg.recipients)})")
