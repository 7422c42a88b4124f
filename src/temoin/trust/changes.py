"""Changing the trust root: proposing a statement, co-signing it, founding one, and what
`temoin check` says about it."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.errors import TemoinError
from temoin.trust.chain import needed, signed_persons
from temoin.trust.pins import pinned_elsewhere, read_pin, require, write_pin
from temoin.trust.site_record import RESIGN, SITE_FILES, site_changes, site_files
from temoin.trust.statements import (
    FOLDER,
    PROPOSED,
    Root,
    TrustError,
    chain_files,
    folder,
    parse_statement,
    payload_from,
    proposed_path,
    read_signature,
    read_statement,
    sha256_hex,
    signature_files,
    signature_path,
    statement,
)

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.keys import Keyring


def propose(repo: Path, cfg: Config, keyring: Keyring, editor: str,
            when: dt.datetime | None = None, repo_id: str | None = None) -> tuple[Path, bool]:
    """Write the next statement (the keys and safety settings of mkdocs.yml as they stand)
    as `trust/proposed.json`, signed by `editor`; (path, in force now?)."""
    files = chain_files(repo)
    payload = checkout_payload(repo)
    if files:
        last = read_statement(files[-1])
        doc = parse_statement(last, str(files[-1]))
        if doc["payload"] == payload:
            raise TemoinError("nothing to propose: mkdocs.yml, keys/ and the site's own files "
                              f"already match the signed trust root ({FOLDER}/{files[-1].name})")
        serial, previous, repo_id = len(files), sha256_hex(last), str(doc["repo_id"])
    else:
        serial, previous, repo_id = 0, None, repo_id or secrets.token_hex(16)
    for stale in [proposed_path(repo), *signature_files(proposed_path(repo))]:
        stale.unlink(missing_ok=True)
    data = statement(payload, serial, previous, repo_id, editor,
                     when or dt.datetime.now(dt.UTC))
    from temoin.files import write_atomic

    write_atomic(proposed_path(repo), data)
    return sign(repo, keyring, editor)


def checkout_payload(repo: Path) -> dict[str, Any]:
    """What this checkout states: the keys and safety settings of mkdocs.yml as written
    (not the root's current values) and the site's own files as they are here."""
    from temoin import config as config_mod

    raw = config_mod.from_options(Path(repo), config_mod.plugin_options(
        config_mod.read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)), None, root=False)
    payload = payload_from(raw)
    payload[SITE_FILES] = site_files(Path(repo))
    return payload


def _not_here(proposed: dict[str, Any], here: dict[str, Any]) -> list[str]:
    """Where a proposal states something other than this checkout (empty: nothing)."""
    out = [key for key in sorted(set(proposed) | set(here))
           if key != SITE_FILES and proposed.get(key) != here.get(key)]
    theirs, mine = proposed.get(SITE_FILES), here.get(SITE_FILES)
    if isinstance(theirs, dict) and isinstance(mine, dict):
        out += [path for path in sorted(set(theirs) | set(mine))
                if theirs.get(path) != mine.get(path)]
    elif theirs != mine:
        out.append(SITE_FILES)
    return out


def sign(repo: Path, keyring: Keyring, editor: str) -> tuple[Path, bool]:
    """Add `editor`'s signature to the proposed statement; once it has the signatures it
    needs it joins the chain (and, for a founding statement, is pinned here).

    Only a proposal that states what this checkout holds is signed: the files it records
    by hash (site_src/, mkdocs.yml's settings) cannot be read in the proposal itself, so
    what the co-signer reviewed (`git diff`) must be what they sign. Otherwise a
    proposal made where a planted file was present, co-signed where it was not, admitted
    the file once committed again."""
    from temoin.files import write_atomic

    path = proposed_path(repo)
    if not path.is_file():
        raise TemoinError(f"{path}: nothing proposed (`temoin trust propose` first)")
    data = read_statement(path)
    doc = parse_statement(data, str(path))
    files = chain_files(repo)
    if doc.get("serial") != len(files):
        raise TrustError(f"{path}: proposed as serial {doc.get('serial')}, but the chain "
                         f"has {len(files)} statements: propose again")
    current = parse_statement(read_statement(files[-1]), str(files[-1]))["payload"] \
        if files else None
    counted, need = needed(current, doc["payload"])
    if editor not in counted:
        raise TrustError(f"{editor} cannot sign this change: only editors of the current "
                         f"trust root count ({', '.join(sorted(set(counted.values()))) or 'none'})")
    differ = _not_here(doc["payload"], checkout_payload(repo))
    if differ:
        raise TrustError(f"{path} states something other than this checkout holds, so it is "
                         "not what you reviewed: " + ", ".join(differ) + ". Update the "
                         "checkout to the proposer's commit (or they propose again from what "
                         "you both have), read `git diff`, then sign")
    write_atomic(signature_path(path, editor), keyring.sign_detached(data, editor))
    good = signed_persons(data, path, counted, keyring.verify_detached)
    if len(good) < need:
        return path, False
    target = folder(repo) / f"{int(doc['serial']):04d}.json"
    write_atomic(target, data)
    for sig in signature_files(path):
        fpr = sig.name[len(path.name) + 1:-len(".asc")]
        write_atomic(signature_path(target, fpr), read_signature(sig))
        sig.unlink()
    path.unlink()
    if doc["serial"] == 0 and not pinned_elsewhere(repo, str(doc["repo_id"])) and \
            read_pin(str(doc["repo_id"])) is None:
        write_pin(str(doc["repo_id"]), sha256_hex(data), repo,  # a checkout pinned before stays
                  (0, sha256_hex(data)))
    return target, True


def found(repo: Path, cfg: Config, keyring: Keyring, signers: Iterable[str],
          when: dt.datetime | None = None, repo_id: str | None = None) -> Root:
    """Create and sign the founding statement with every key in `signers` (init, demo and
    test repositories whose editors' keys are all at hand), pin it, return the root."""
    signers = list(signers)
    path, done = propose(repo, cfg, keyring, signers[0], when, repo_id)
    for s in signers[1:]:
        if done:
            break
        path, done = sign(repo, keyring, s)
    if not done:
        raise TrustError(f"{path}: still needs signatures by other editors")
    return require(repo, echo=lambda _t: None)


def problems(repo: Path) -> list[str]:
    """What `temoin check` says about the trust root (empty when it verifies and is the
    pinned one): the refusal itself, a waiting proposal, mkdocs.yml differing from it."""
    try:
        root = require(repo)
    except TrustError as exc:
        return [f"{FOLDER}/: {exc.message}"]
    out = []
    if proposed_path(repo).is_file():
        out.append(f"{FOLDER}/{PROPOSED}: a change waits for signatures (`temoin trust "
                   "sign`); until then the signed root is what counts")
    from temoin import config as config_mod

    try:
        raw = config_mod.from_options(Path(repo), config_mod.plugin_options(
            config_mod.read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)), None,
            root=False)
    except TemoinError:
        return out
    out += [f"{c}: {RESIGN}" for c in site_changes(repo, root)]
    mine = payload_from(raw)
    for key, value in sorted(mine.items()):
        if root.payload.get(key) != value:
            out.append(f"mkdocs.yml: plugins.temoin: {key} differs from the signed trust root "
                       f"({FOLDER}/{root.serial:04d}.json); the root is what counts: "
                       "propose the change with `temoin trust propose`")
    return out
