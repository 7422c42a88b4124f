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
- Signatures count only if made before the signing key's revocation or expiry (read from
  the keys in `keys/`); the key files must be the keys the statement names.
- The payload's `site_files` records the sha256 of every file that defines the site around
  the cases (issue 20): all of `docs_dir` (`site_src/`: hand-written pages, bulletin texts,
  `overrides/`, `assets/`), the theme's `custom_dir`, and mkdocs.yml's settings (the
  site's name, navigation…: words on every page; `settings_digest`). `temoin build` refuses to build
  while any of them differs (`require_site`): a planted page, script or stylesheet needs
  the same two editors as a new key (and the gates still judge it). A template override
  is refused before this, co-signed or not: only Témoin's own templates render.

`config.load` reads the safety settings from the latest statement (mkdocs.yml's copies are
only what an editor proposes); `require` verifies the chain and the pin, and `build`, `ingest`,
`case publish`, `share`, `check` and `verify-site` run it first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin.config import (
    TRUST_FOLDER,
    TRUST_KIND,
    latest_trust_payload,
    trust_document,
    trust_statements,
)
from temoin.errors import CryptoError, TemoinError

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.keys import Keyring
    from temoin.keys.history import Seen

FOLDER = TRUST_FOLDER
PROPOSED = "proposed.json"
KIND = TRUST_KIND
_SERIAL = re.compile(r"^(\d{4,})\.json$")
# The consents that may give a case its own page: the root may narrow them, never widen them.


class TrustError(CryptoError):
    """The trust root is missing, unsigned, unverifiable or not the pinned one (exit 3)."""


@dataclass(frozen=True)
class Root:
    """A verified chain: its latest statement's payload, serial and hashes."""

    repo_id: str
    fingerprint: str          # sha256 of the founding statement: what is pinned
    serial: int
    sha256: str               # sha256 of the latest statement
    payload: dict[str, Any]
    signers: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)
    keys_seen: Seen | None = None  # the revocations the key files in keys/ carry

    @property
    def editors(self) -> dict[str, str]:
        """Editor fingerprint -> person."""
        return {str(e["fingerprint"]): str(e.get("person") or e.get("name") or "")
                for e in self.payload.get("editors") or []}


# -- statements --------------------------------------------------------------------------
def folder(repo: Path) -> Path:
    return Path(repo) / FOLDER


def chain_files(repo: Path) -> list[Path]:
    """The chain's statements in serial order (0000.json, 0001.json, …)."""
    return trust_statements(repo)


def signature_files(statement: Path) -> list[Path]:
    return sorted(statement.parent.glob(f"{statement.name}.*.asc"))


def signature_path(statement: Path, fpr: str) -> Path:
    return statement.with_name(f"{statement.name}.{fpr}.asc")


def _doc(data: bytes, where: str) -> dict[str, Any]:
    doc = trust_document(data)
    if doc is None:
        raise TrustError(f"{where}: not a trust-root statement (valid JSON of kind {KIND})")
    return doc


def latest_payload(repo: Path) -> dict[str, Any] | None:
    """The newest statement's payload, NOT verified (what `config.load` shows; `require`
    verifies it before anything that matters), or None without a trust root."""
    return latest_trust_payload(repo)


def payload_from(cfg: Config) -> dict[str, Any]:
    """The trust-root payload that states `cfg`'s keys and safety settings."""
    return {
        "organisation": cfg.organisation,
        "editors": [{"fingerprint": e.fingerprint, "name": e.name,
                     "person": e.person or e.name} for e in cfg.recipients],
        "partners": [{"name": p.name, "fingerprint": p.fingerprint, "category": p.category}
                     for p in cfg.partners],
        "inbox_key": cfg.inbox_key,
        "site_key": cfg.site_key or cfg.inbox_key,
        "contact_email": cfg.contact_email,
        "publish_min_level": cfg.publish_min_level,
        "location_precision": cfg.location_precision,
        "consent": {"page": list(cfg.page_consents)},
    }


SITE_FILES = "site_files"


def site_folders(repo: Path) -> list[str]:
    """The folders (relative to the repository) whose files define the site: docs_dir
    and the theme's custom_dir, as mkdocs.yml names them (read with the safe loader)."""
    from temoin import config as config_mod

    mk = config_mod.read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)
    theme = mk.get("theme") if isinstance(mk.get("theme"), dict) else {}
    found = [str(mk.get("docs_dir") or "docs"), str((theme or {}).get("custom_dir") or "")]
    out: list[str] = []
    for f in found:
        norm = Path(f).as_posix().strip("/")
        if not f or Path(f).is_absolute() or ".." in Path(f).parts:
            continue  # outside the repository: the build's input check refuses it
        if norm not in out and not any(norm.startswith(o + "/") for o in out):
            out.append(norm)
    return out


# The plugin options the trust root states itself: mkdocs.yml only proposes them, so their
# copies there reach no page (a change waiting for its second signature stops no build).
ROOT_STATED = ("organisation", "recipients", "partners", "inbox_key", "site_key",
               "contact_email", "publish_min_level", "location_precision", "page_consents")
SETTINGS_FILE = "mkdocs.yml"


def settings_digest(repo: Path) -> str:
    """What of mkdocs.yml reaches the site, as one hash: its settings as read (comments and
    layout do not count) without the options the trust root states itself. The site's
    name, navigation, theme, extensions and Témoin's other options are words and choices
    on every page, so they are signed like the pages themselves."""
    from temoin import config as config_mod

    try:
        mk = config_mod.read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)
    except TemoinError as exc:
        return "unreadable: " + _sha(str(exc).encode())
    plugins = mk.get("plugins")
    entries = plugins.items() if isinstance(plugins, dict) else (
        item for entry in plugins if isinstance(entry, dict) for item in entry.items()) \
        if isinstance(plugins, list) else ()
    for name, options in entries:
        if name == "temoin" and isinstance(options, dict):
            for key in ROOT_STATED:
                options.pop(key, None)
    text = json.dumps(mk, sort_keys=True, ensure_ascii=False, default=str)
    return "settings:" + _sha(text.encode("utf-8"))


def site_files(repo: Path) -> dict[str, str]:
    """sha256 of every file under the site-defining folders, by repository-relative POSIX
    path, and of mkdocs.yml's settings (`settings_digest`). Links and special files are
    never followed or read (one could point at a device or a secret): they are recorded as
    such, and the build's input check refuses them."""
    repo = Path(repo)
    out: dict[str, str] = {SETTINGS_FILE: settings_digest(repo)}
    for folder_name in site_folders(repo):
        base = repo / folder_name
        if base.is_symlink() or not base.is_dir():
            continue
        for root, dirs, names in os.walk(base, followlinks=False):
            for name in sorted([*dirs, *names]):
                p = Path(root) / name
                rel = p.relative_to(repo).as_posix()
                if p.is_symlink():
                    out[rel] = "symlink:" + os.readlink(p)
                elif p.is_file():
                    out[rel] = _sha(p.read_bytes())
                elif not p.is_dir():
                    out[rel] = "special file"
    return dict(sorted(out.items()))


def site_changes(repo: Path, root: Root) -> list[str]:
    """Each site-defining file that differs from the signed record, named (empty: none)."""
    recorded = root.payload.get(SITE_FILES)
    where = f"{FOLDER}/{root.serial:04d}.json"
    if not isinstance(recorded, dict):
        return [f"{where}: the signed trust root records no hash of {', '.join(site_folders(repo))}"
                f" and {SETTINGS_FILE} (it was signed before the site's own files were part of "
                "it)"]
    now = site_files(repo)
    out = []
    for path in sorted(set(recorded) | set(now)):
        if path not in now:
            out.append(f"{path}: removed since the signed trust root ({where}) recorded it")
        elif path not in recorded:
            out.append(f"{path}: added, not in the signed trust root's record ({where})")
        elif recorded[path] != now[path]:
            out.append(f"{path}: changed since the signed trust root ({where}) recorded it")
    return out


RESIGN = ("if the change is the editors' own, record it in the trust root: `temoin trust "
          "propose`, then a second editor reads `git diff` and runs `temoin trust sign`; if "
          "nobody made it, restore the files (`git checkout -- site_src mkdocs.yml`) and find "
          "out who did")


def require_site(repo: Path, root: Root) -> None:
    """Refuse (TrustError, exit 3) when a site-defining file differs from the signed record:
    a planted script or template override never reaches a build."""
    changes = site_changes(repo, root)
    if changes:
        raise TrustError("the site's own files differ from what the editors signed:\n"
                         + "\n".join(f"  - {c}" for c in changes) + "\nNothing was built: "
                         + RESIGN)


def statement(payload: dict[str, Any], serial: int, previous: str | None, repo_id: str,
              editor: str, when: dt.datetime) -> bytes:
    doc = {"kind": KIND, "format": "temoin-trust/1", "serial": serial, "previous": previous,
           "repo_id": repo_id, "editor": editor,
           "date": when.astimezone(dt.UTC).isoformat(timespec="seconds"),
           "payload": payload}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1).encode() + b"\n"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- verification ------------------------------------------------------------------------
def _persons(payload: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("fingerprint")): str(e.get("person") or e.get("name") or "")
            for e in payload.get("editors") or [] if isinstance(e, dict)}


def needed(current: dict[str, Any] | None, new: dict[str, Any]) -> tuple[dict[str, str], int]:
    """(fingerprint -> person of the keys whose signatures count, how many distinct persons
    must sign) for `new` to follow `current` (None: a founding statement).

    The keys are the current statement's editors, as persons the current statement names
    them; the number is two (one when it names one person) and depends on nothing the
    change itself says. (It used to count only editors who remain and gain no key, "all of
    them if fewer remain": one editor then removed the other, or added a key in another
    person's name, alone.)"""
    if current is None:
        after = _persons(new)
        return after, min(2, len(set(after.values())))
    before = _persons(current)
    return before, min(2, len(set(before.values())))


def signed_persons(data: bytes, statement_path: Path, counted: dict[str, str],
                   verify: Callable[[bytes, bytes], str | None]) -> dict[str, str]:
    """person -> fingerprint of each counted editor whose signature on `data` is good."""
    out: dict[str, str] = {}
    for sig in signature_files(statement_path):
        claimed = sig.name[len(statement_path.name) + 1:-len(".asc")]
        if claimed not in counted:
            continue
        signer = verify(data, sig.read_bytes())
        if signer == claimed:
            out.setdefault(counted[signer], signer)
    return out


def _key_files(repo: Path) -> list[Path]:
    keys_dir = Path(repo) / "keys"
    found = sorted(keys_dir.glob("editors/*.asc")) + sorted(keys_dir.glob("partners/*.asc")) \
        + [keys_dir / "inbox.asc", keys_dir / "site.asc"]
    return [p for p in found if _regular(p)]


def _regular(path: Path) -> bool:
    """A plain file, not followed through a link (lstat): a link in keys/ could make the
    verifier read any file of the machine."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _odd_key_entries(repo: Path) -> list[str]:
    """Links and special files under keys/, named, never read."""
    keys_dir = Path(repo) / "keys"
    odd = []
    if keys_dir.is_symlink():
        return ["keys: a symbolic link; refused, never followed"]
    for root, dirs, names in os.walk(keys_dir):
        for name in sorted([*dirs, *names]):
            p = Path(root) / name
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file"
                odd.append(f"{p.relative_to(repo)}: {kind}; refused, never read")
    return odd


def _check_keys(repo: Path, payload: dict[str, Any], kr: Keyring) -> list[str]:
    """The key files must be the keys the statement names (fingerprints bind the keys)."""
    problems = []
    keys_dir = Path(repo) / "keys"
    held = {k.fingerprint for k in kr.list()}
    for e in payload.get("editors") or []:
        if e.get("fingerprint") not in held:
            problems.append(f"keys/editors/: no key {e.get('fingerprint')} (editor "
                            f"{e.get('name')} in the signed trust root)")
    for p in payload.get("partners") or []:
        if p.get("fingerprint") not in held:
            problems.append(f"keys/partners/: no key {p.get('fingerprint')} (partner "
                            f"{p.get('name')} in the signed trust root)")
    for name, role in (("inbox.asc", "inbox_key"), ("site.asc", "site_key")):
        f = keys_dir / name
        want = str(payload.get(role) or "")
        if f.is_file():
            from temoin import keys

            found = keys.key_fingerprints(f.read_bytes())
            if want and want not in found and not (role == "site_key" and want ==
                                                   payload.get("inbox_key")):
                problems.append(f"keys/{name}: holds {', '.join(found) or 'no key'}, not the "
                                f"{role} {want} the signed trust root names")
            if role == "inbox_key" and found and not want:
                problems.append(f"keys/{name}: the signed trust root names no inbox key")
    return problems


def verify_chain(repo: Path) -> Root:
    """Verify every statement of `trust/` and the key files; the latest payload. Raises
    TrustError naming the statement and the missing signature or unknown key."""
    from temoin import keys

    files = chain_files(repo)
    if not files:
        raise TrustError(f"{folder(repo)}: no signed trust root. The editors create one: "
                         "`temoin trust propose`, then `temoin trust sign` by a second editor")
    odd = _odd_key_entries(repo)
    if odd:
        raise TrustError("; ".join(odd))
    with keys.public_keyring(_key_files(repo)) as kr:
        previous: dict[str, Any] | None = None
        prev_sha: str | None = None
        repo_id = first = ""
        signers: tuple[str, ...] = ()
        for n, path in enumerate(files):
            where = f"{FOLDER}/{path.name}"
            data = path.read_bytes()
            doc = _doc(data, where)
            if doc.get("serial") != n:
                raise TrustError(f"{where}: serial {doc.get('serial')!r}, expected {n}")
            if doc.get("previous") != prev_sha:
                raise TrustError(f"{where}: names previous {doc.get('previous')!r}, but the "
                                 f"statement before it has sha256 {prev_sha}: the chain is "
                                 "broken")
            if n == 0:
                repo_id, first = str(doc.get("repo_id") or ""), _sha(data)
            elif doc.get("repo_id") != repo_id:
                raise TrustError(f"{where}: repo_id differs from the founding statement's")
            payload = doc["payload"]
            counted, need = needed(previous, payload)
            if need == 0:
                raise TrustError(f"{where}: the statement before it names no editor who "
                                 "could sign it")
            good = signed_persons(data, path, counted, kr.verify_detached)
            if len(good) < need:
                names = ", ".join(sorted(set(counted.values()))) or "none"
                raise TrustError(
                    f"{where}: signed by {len(good)} of the {need} distinct editors it needs "
                    f"(editors whose signature counts: {names}; good signatures by: "
                    f"{', '.join(sorted(good)) or 'none'}). Unsigned or forged: refused. "
                    "A second editor signs a proposed change with `temoin trust sign`")
            signers = tuple(sorted(good.values()))
            previous, prev_sha = payload, _sha(data)
        assert previous is not None and prev_sha is not None
        problems = _check_keys(repo, previous, kr)
        from temoin.keys import history

        seen = history.read(kr)
    if problems:
        raise TrustError("the keys in keys/ are not the ones the signed trust root names:\n"
                         + "\n".join(f"  - {p}" for p in problems))
    return Root(repo_id, first, len(files) - 1, prev_sha, previous, signers, keys_seen=seen)


# -- the pin, outside the repository ------------------------------------------------------
def pins_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "temoin" / "pins"


def _pin_file(repo_id: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{16,64}", repo_id):
        raise TrustError(f"trust root: repo_id {repo_id!r} is not a hex id")
    return pins_dir() / f"{repo_id}.json"


def read_pin(repo_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_pin_file(repo_id).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_pin(repo_id: str, fingerprint: str, repo: Path,
              newest: tuple[int, str] | None = None) -> Path:
    """Pin `fingerprint` for `repo_id`, with the checkout `repo` and the newest statement
    this machine has verified (`newest`: serial, sha256), kept when it is higher."""
    from temoin.files import write_atomic

    path = _pin_file(repo_id)
    old = read_pin(repo_id) or {}
    same = old.get("root") == fingerprint
    paths = sorted({*old.get("paths", []), str(Path(repo).resolve())}) \
        if same else [str(Path(repo).resolve())]
    doc: dict[str, Any] = {"repo_id": repo_id, "root": fingerprint, "paths": paths}
    seen = _seen(old) if same else None
    if newest is not None and (seen is None or newest[0] > seen[0]):
        seen = newest
    if seen is not None:
        doc["seen"] = {"serial": seen[0], "sha256": seen[1]}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(doc, indent=1).encode())
    return path


def _seen(pin: dict[str, Any]) -> tuple[int, str] | None:
    """(serial, sha256) of the newest statement a pin records as verified here."""
    seen = pin.get("seen")
    if isinstance(seen, dict) and isinstance(seen.get("serial"), int) and isinstance(
            seen.get("sha256"), str):
        return int(seen["serial"]), str(seen["sha256"])
    return None


def _not_rolled_back(repo: Path, root: Root, pin: dict[str, Any]) -> None:
    """Refuse a chain shorter than, or forked from, the newest statement this machine has
    verified: deleting the latest statements would bring back an older signed roster (a
    removed, seized key) or older safety settings, all still validly signed."""
    seen = _seen(pin)
    if seen is None:
        return
    serial, sha = seen
    where = f"{FOLDER}/{serial:04d}.json"
    if root.serial < serial:
        raise TrustError(
            f"the trust root was rolled back: this machine has verified serial {serial} "
            f"({where}, sha256 {sha[:16]}…), but trust/ now ends at serial {root.serial}. "
            "Deleting the newest statements would bring back an older roster or older safety "
            f"settings: refused. Restore {where} and its signatures from a copy you trust")
    files = chain_files(repo)
    if _sha(files[serial].read_bytes()) != sha:
        raise TrustError(
            f"{where} is not the statement serial {serial} this machine has verified (sha256 "
            f"{sha[:16]}…): the trust root was rolled back and rewritten (a forked "
            "history): refused")


def _revocations_kept(repo: Path, root: Root) -> None:
    """Refuse key files that lost a revocation this machine has seen (an older copy of a
    key from Git history: a stolen, revoked subkey counts again), then remember the
    revocations they carry (`keys.history`, beside the pin)."""
    from temoin import keys
    from temoin.keys import history

    if root.keys_seen is None:
        return
    path = pins_dir() / "revoked" / f"{root.repo_id}.json"
    gone = history.lost(root.keys_seen, history.load(path))
    if gone:
        found = {fpr: f.relative_to(repo).as_posix() for f in _key_files(repo)
                 for fpr in keys.key_fingerprints(f.read_bytes())}
        raise TrustError("a key file lost a revocation this machine has seen (an older copy "
                         "of the key, from Git history?): refused, OpenPGP never takes a "
                         "revocation back:\n" + "\n".join(
                             f"  - {found.get(primary, 'keys/')}: key {fpr} was revoked "
                             f"(on {dt.datetime.fromtimestamp(when, dt.UTC):%Y-%m-%d})"
                             for fpr, primary, when in gone)
                         + "\nRestore the key file with its revocation (its holder runs "
                         f"`temoin keys export FINGERPRINT`); remembered in {path}")
    history.remember(path, root.keys_seen)


def _pinned_elsewhere(repo: Path, repo_id: str) -> str | None:
    """The repo id another pin records this checkout under, if any."""
    here = str(Path(repo).resolve())
    d = pins_dir()
    if not d.is_dir():
        return None
    for f in sorted(d.glob("*.json")):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("repo_id") != repo_id and here in (
                data.get("paths") or []):
            return str(data.get("repo_id"))
    return None


def expected(repo: Path) -> bool:
    """Whether `repo` must have a verified trust root: it holds statements, or this
    checkout was pinned on this machine (deleting trust/ is no way around it)."""
    if chain_files(repo):
        return True
    here = str(Path(repo).resolve())
    d = pins_dir()
    for f in sorted(d.glob("*.json")) if d.is_dir() else []:
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and here in (data.get("paths") or []):
            return True
    return False


# -- what this machine has seen withdrawn ----------------------------------------------------
# A signed withdrawal is final (a withdrawn case never becomes public again), but deleting
# it from the repository, or checking out the case as it was before, leaves only decisions
# that were signed and still verify: the repository alone cannot tell. So, like the pin,
# each machine remembers outside the repository every case it has seen withdrawn by a
# signed decision, and such a case is never public again from this machine.
def _withdrawn_file(repo: Path) -> Path | None:
    files = chain_files(repo)
    if not files:
        return None
    try:
        repo_id = str(_doc(files[0].read_bytes(), str(files[0])).get("repo_id") or "")
    except (OSError, TrustError):
        return None
    if not re.fullmatch(r"[0-9a-f]{16,64}", repo_id):
        return None
    return pins_dir() / "withdrawn" / f"{repo_id}.json"


def seen_withdrawn(repo: Path) -> dict[str, str]:
    """case id -> sha256 of the signed withdrawal this machine has seen."""
    path = _withdrawn_file(repo)
    try:
        data = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def remember_withdrawn(repo: Path, case_id: str, statement_sha256: str) -> None:
    """Record that a signed withdrawal of `case_id` counted here (kept for good)."""
    path = _withdrawn_file(repo)
    if path is None:
        return
    seen = seen_withdrawn(repo)
    if case_id in seen:
        return
    from temoin.files import write_atomic

    seen[case_id] = statement_sha256
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, json.dumps(seen, indent=1, sort_keys=True).encode())


def groups(fpr: str) -> str:
    """A fingerprint in groups of four, as people read them aloud."""
    return " ".join(fpr[i:i + 4].upper() for i in range(0, len(fpr), 4))


def require(repo: Path, echo: Callable[[str], None] | None = None) -> Root:
    """The verified trust root, checked against this machine's pin. On first use (no pin for
    this repository, and this checkout not pinned to another one) the root is pinned and
    its fingerprint shown for out-of-band comparison."""
    root = verify_chain(repo)
    pin = read_pin(root.repo_id)
    if pin is None:
        other = _pinned_elsewhere(repo, root.repo_id)
        if other:
            raise TrustError(f"this checkout was pinned to another trust root (repo id "
                             f"{other}); its trust/ now starts a different history (repo id "
                             f"{root.repo_id}): a history forged from its first commit? "
                             "Compare `temoin trust show` with another editor over a channel "
                             "you trust; only then `temoin trust pin --replace ROOT`")
        write_pin(root.repo_id, root.fingerprint, repo, (root.serial, root.sha256))
        _revocations_kept(repo, root)
        (echo or _stderr)(f"Pinned this repository's trust root on first use: "
                          f"{groups(root.fingerprint)}. Compare it with another editor's "
                          "`temoin trust show` over a channel you trust.")
        return root
    if pin.get("root") != root.fingerprint:
        raise TrustError(f"trust/0000.json has root {groups(root.fingerprint)}, but this "
                         f"machine pinned {groups(str(pin.get('root')))} for repo id "
                         f"{root.repo_id} ({_pin_file(root.repo_id)}): a history forged from "
                         "its first commit is refused")
    _not_rolled_back(repo, root, pin)
    _revocations_kept(repo, root)
    if str(Path(repo).resolve()) not in (pin.get("paths") or []) or _seen(pin) != (
            root.serial, root.sha256):
        write_pin(root.repo_id, root.fingerprint, repo, (root.serial, root.sha256))
    return root


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


# -- changing it -------------------------------------------------------------------------
def proposed_path(repo: Path) -> Path:
    return folder(repo) / PROPOSED


def propose(repo: Path, cfg: Config, keyring: Keyring, editor: str,
            when: dt.datetime | None = None, repo_id: str | None = None) -> tuple[Path, bool]:
    """Write the next statement (the keys and safety settings of mkdocs.yml as they stand)
    as `trust/proposed.json`, signed by `editor`; (path, in force now?)."""
    from temoin.config import read_mkdocs_yml

    files = chain_files(repo)
    # What an editor proposes is mkdocs.yml as written, not the root's current values.
    from temoin import config as config_mod

    raw = config_mod.from_options(Path(repo), config_mod.plugin_options(
        read_mkdocs_yml(Path(repo) / config_mod.CONFIG_FILE)), None, root=False)
    payload = payload_from(raw)
    payload[SITE_FILES] = site_files(Path(repo))
    if files:
        last = files[-1].read_bytes()
        doc = _doc(last, str(files[-1]))
        if doc["payload"] == payload:
            raise TemoinError("nothing to propose: mkdocs.yml, keys/ and the site's own files "
                              f"already match the signed trust root ({FOLDER}/{files[-1].name})")
        serial, previous, repo_id = len(files), _sha(last), str(doc["repo_id"])
    else:
        serial, previous, repo_id = 0, None, repo_id or secrets.token_hex(16)
    for stale in [proposed_path(repo), *signature_files(proposed_path(repo))]:
        stale.unlink(missing_ok=True)
    data = statement(payload, serial, previous, repo_id, editor,
                     when or dt.datetime.now(dt.UTC))
    from temoin.files import write_atomic

    write_atomic(proposed_path(repo), data)
    return sign(repo, keyring, editor)


def sign(repo: Path, keyring: Keyring, editor: str) -> tuple[Path, bool]:
    """Add `editor`'s signature to the proposed statement; once it has the signatures it
    needs it joins the chain (and, for a founding statement, is pinned here)."""
    from temoin.files import write_atomic

    path = proposed_path(repo)
    if not path.is_file():
        raise TemoinError(f"{path}: nothing proposed (`temoin trust propose` first)")
    data = path.read_bytes()
    doc = _doc(data, str(path))
    files = chain_files(repo)
    if doc.get("serial") != len(files):
        raise TrustError(f"{path}: proposed as serial {doc.get('serial')}, but the chain "
                         f"has {len(files)} statements: propose again")
    current = _doc(files[-1].read_bytes(), str(files[-1]))["payload"] if files else None
    counted, need = needed(current, doc["payload"])
    if editor not in counted:
        raise TrustError(f"{editor} cannot sign this change: only editors of the current "
                         f"trust root count ({', '.join(sorted(set(counted.values()))) or 'none'})")
    write_atomic(signature_path(path, editor), keyring.sign_detached(data, editor))
    good = signed_persons(data, path, counted, keyring.verify_detached)
    if len(good) < need:
        return path, False
    target = folder(repo) / f"{int(doc['serial']):04d}.json"
    write_atomic(target, data)
    for sig in signature_files(path):
        fpr = sig.name[len(path.name) + 1:-len(".asc")]
        write_atomic(signature_path(target, fpr), sig.read_bytes())
        sig.unlink()
    path.unlink()
    if doc["serial"] == 0 and not _pinned_elsewhere(repo, str(doc["repo_id"])) and \
            read_pin(str(doc["repo_id"])) is None:
        write_pin(str(doc["repo_id"]), _sha(data), repo,  # a checkout pinned before stays
                  (0, _sha(data)))
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
