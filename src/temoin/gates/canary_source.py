"""The canaries of every private part, cached in one file encrypted to the editors.

The build greps its output for every private value of every case (DESIGN §7, gate 2). Each
private part is its own OpenPGP message: decrypting one costs a gpg process (~15 ms), so a
20,000-case build would spend five minutes decrypting before it can scan anything. The
canaries of each part depend only on its bytes and on the extraction rules, so they are
cached in `.temoin/cache/canaries.asc` (git-ignored, local to the machine):

* keyed by case id and the sha256 of its `private.yaml.asc` (the ciphertext, so a changed
  part is decrypted again), and by a hash of the rules' source files (new rules, new
  canaries: the whole cache is dropped);
* the file is ONE OpenPGP message encrypted to every editor key, written atomically, read
  into memory only: no private value is ever written in plaintext;
* it holds the same secrets as the private parts, under the same keys. Like them it is
  encrypted, not signed: whoever can write into the repository's folders can already
  replace a private part, so the cache adds no way around the gate. A cache that does not
  decrypt or parse is ignored and rebuilt.

Only the parts that changed since the last build are decrypted, in parallel (gpg is a
separate process: threads overlap its start-up and I/O).

The file also keeps a random `secret` (32 bytes, made once): the canary scan's verdict
cache (`checks.scan`) keys the files that passed with it, so the plaintext hashes in that
cache cannot be used to test a guess at a private value.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cases as cases_mod
from temoin.errors import CryptoError
from temoin.files import write_atomic

if TYPE_CHECKING:
    from temoin.gates import Canary
    from temoin.keys import Keyring

PATH = Path(".temoin") / "cache" / "canaries.asc"
VERSION = 1
MAX_CACHE = 1 << 31  # bytes of decrypted cache accepted (20,000 cases: ~10 MB)


def rules_hash() -> str:
    """Hash of the code that turns a private part into canaries (and of the template whose
    lines are exempt): any change to it invalidates every cached entry."""
    from temoin import gates as checks
    from temoin.gates import canaries, lexicon
    from temoin.intake import form as template

    h = hashlib.sha256(f"{VERSION} {lexicon.rules_version()}".encode())
    for mod in (checks, canaries, lexicon, template):
        h.update(Path(str(mod.__file__)).read_bytes())
    for name in lexicon.SOURCES:  # the word lists that decide which parts are canaries
        h.update(lexicon.data_bytes(name))
    return h.hexdigest()


def _read(repo: Path, keyring: Keyring, rules: str) -> tuple[dict[str, Any], str]:
    """The cached parts and the secret ({} and "" when there is no usable cache)."""
    path = repo / PATH
    if not path.is_file():
        return {}, ""
    res = keyring.decrypt(path.read_bytes(), max_output=MAX_CACHE)
    if not res.ok:
        return {}, ""
    try:
        doc = json.loads(res.plaintext)
    except ValueError:
        return {}, ""
    if not isinstance(doc, dict) or doc.get("rules") != rules or \
            not isinstance(doc.get("parts"), dict):
        return {}, ""
    secret = doc.get("secret")
    return dict(doc["parts"]), secret if isinstance(secret, str) and len(secret) == 64 else ""


def _write(repo: Path, keyring: Keyring, recipients: list[str], rules: str,
           parts: dict[str, Any], secret: str) -> None:
    doc = json.dumps({"rules": rules, "parts": parts, "secret": secret}, ensure_ascii=False,
                     sort_keys=True, separators=(",", ":")).encode("utf-8")
    try:
        data = keyring.encrypt(doc, recipients)
    except CryptoError:
        return  # cannot encrypt to every editor here: no cache, never plaintext
    write_atomic(repo / PATH, data, mode=0o600)


def canaries(repo: Path, case_ids: Iterable[str], keyring: Keyring,
             recipients: Iterable[str], jobs: int | None = None) -> list[Canary]:
    """Every canary of the private parts of `case_ids`, decrypting only what changed."""
    return canaries_and_secret(repo, case_ids, keyring, recipients, jobs)[0]


def canaries_and_secret(repo: Path, case_ids: Iterable[str], keyring: Keyring,
                        recipients: Iterable[str],
                        jobs: int | None = None) -> tuple[list[Canary], bytes]:
    """`canaries`, and the cache's secret (see above: random, kept across builds while the
    cache decrypts)."""
    from temoin import gates as checks
    from temoin.cache import StatCache

    repo = Path(repo)
    files = StatCache(repo, "private")  # unchanged private parts are stat-ed, not read
    rules = rules_hash()
    cached, secret = _read(repo, keyring, rules)
    fresh = not secret
    secret = secret or os.urandom(32).hex()
    todo: list[tuple[str, str]] = []
    parts: dict[str, Any] = {}
    for cid in case_ids:
        digest = files.sha256(cases_mod.private_path(repo, cid))
        if digest is None:
            continue
        entry = cached.get(cid)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == digest:
            parts[cid] = entry
        else:
            todo.append((cid, digest))

    def decrypt(item: tuple[str, str]) -> tuple[str, list[Any]]:
        cid, digest = item
        found = checks.canaries_from_private(cid, cases_mod.read_private(repo, cid, keyring))
        return cid, [digest, [[c.value, c.field, c.suffix] for c in found]]

    workers = jobs or min(8, 2 * (os.cpu_count() or 1))
    if todo:
        with ThreadPoolExecutor(workers) as pool:
            for cid, entry in pool.map(decrypt, todo):
                parts[cid] = entry
    files.save()
    if todo or fresh or set(cached) != set(parts):
        rcpts = list(recipients)
        if rcpts:
            _write(repo, keyring, rcpts, rules, parts, secret)
    return [checks.Canary(str(v), cid, str(f), bool(s))
            for cid in sorted(parts) for v, f, s in parts[cid][1]], bytes.fromhex(secret)
