"""The canaries of every private part, cached in one file encrypted to the editors.

The build greps its output for every private value of every case (DESIGN §7, gate 2). Each
private part is its own OpenPGP message: decrypting one costs a gpg process (~15 ms), so a
20,000-case build would spend five minutes decrypting before it can scan anything. The
canaries of each part depend only on its bytes and on the extraction rules, so they are
cached (`CANARIES`, in this user's cache folder outside the repository):

* keyed by case id and the sha256 of its `private.yaml.asc` (the ciphertext, so a changed
  part is decrypted again); versioned by the packages that extract canaries (new rules,
  new canaries: the whole cache is dropped);
* the payload is ONE OpenPGP message encrypted to every editor key, written atomically,
  read into memory only: no private value is ever written in plaintext;
* authenticated like every cache (HMAC with the cache folder's key): a file planted in the
  repository or copied from another machine is never read, so nobody can switch the
  private-data gate off with a cache that lists no canaries. One that does not decrypt or
  parse is ignored and rebuilt.

Only the parts that changed since the last build are decrypted, all in one gpg run (one
passphrase or smartcard PIN a build, not one per part) that also checks each part's inner
signature (issue 16: a part not signed by a current editor or the inbox key of the signed
trust root is refused, `cases.PartsRefused`, and the build stops). An entry keeps the
digest of the signers that accepted it (`Signers.digest`): when the roster or a key file
changes, every part is judged again.

The file also keeps, by `guard.leak_key` (a hash of a case's text and of its canaries),
which private fields `gates.curate` found in each case's own public text (`leaks`, written
by `curated`): a rebuild writes out and scans only the cases whose text or canaries
changed (1,000 cases: 4.0 s of CPU on each rebuild before). Same trust as the canaries:
encrypted, authenticated, dropped with the code that computes them.

The file also keeps a random `secret` (32 bytes, made once): the canary scan's verdict
cache (`gates.scan`) keys the files that passed with it, so the plaintext hashes in that
cache cannot be used to test a guess at a private value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cache as cache_mod
from temoin import cases as cases_mod
from temoin.keys import vault
from temoin.keys.signers import Signers

if TYPE_CHECKING:
    from temoin.gates import Canary, Curated
    from temoin.keys import Keyring

MAX_CACHE = 1 << 31  # bytes of decrypted cache accepted (20,000 cases: ~10 MB)
# The leaks (`curated`) are scans of each case's text as `cases.dumps` writes it: the YAML
# emitter and its loader's types count too.
CANARIES = cache_mod.Spec(
    "canaries.asc", ("temoin.gates", "temoin.intake", "temoin.cases", "temoin.data",
                     "temoin.strict_yaml"),
    ("pyahocorasick", "wordfreq", "phonenumbers", "confusable-homoglyphs", "PyYAML"),
    "canaries of every private part, encrypted to every editor key", max_size=MAX_CACHE)
STAT_PRIVATE = cache_mod.Spec("stat-private.json", ("temoin.cases",), (),
                              "sha256 of each private part, by (inode, size, mtime, ctime)")


def _read(file: cache_mod.CacheFile | None, keyring: Keyring) -> dict[str, Any]:
    """The cache's document: its parts, secret and leaks ({} when there is none usable)."""
    doc = vault.load_doc(file, keyring, MAX_CACHE)
    return doc if isinstance(doc.get("parts"), dict) else {}


def _secret(doc: dict[str, Any]) -> str:
    secret = doc.get("secret")
    return secret if isinstance(secret, str) and len(secret) == 64 else ""


def canaries(repo: Path, case_ids: Iterable[str], keyring: Keyring,
             recipients: Iterable[str]) -> list[Canary]:
    """Every canary of the private parts of `case_ids`, decrypting only what changed;
    `cases.PartsRefused` (naming each file) when a part is not signed by a current editor
    or the inbox key (`cases.read_privates`)."""
    return canaries_and_secret(repo, case_ids, keyring, recipients)[0]


def canaries_and_secret(repo: Path, case_ids: Iterable[str], keyring: Keyring,
                        recipients: Iterable[str]) -> tuple[list[Canary], bytes]:
    """`canaries`, and the cache's secret (see above: random, kept across builds while the
    cache decrypts)."""
    got = _gather(Path(repo), case_ids, keyring, list(recipients))
    got.save()
    return got.canaries, bytes.fromhex(got.secret)


def curated(repo: Path, cases: Iterable[Any], keyring: Keyring, recipients: Iterable[str],
            organisation: Iterable[str] = ()) -> tuple[Curated, bytes]:
    """`gates.curate` of the canaries of `cases` (objects with `id`, `status`, `meta`,
    `narrative`), and the cache's secret. The fields found in each case's own text are
    kept in the same encrypted file (`leaks`, by `guard.leak_key`: a hash of the case's
    text and of its canaries), so a rebuild scans again only the cases that changed."""
    from temoin import gates as checks

    everything = list(cases)
    got = _gather(Path(repo), [c.id for c in everything], keyring, list(recipients))
    if got.refused:
        got.save()  # raises
    old = got.doc.get("leaks")
    memo = old if isinstance(old, dict) else {}
    got.park()  # the build's peak is in `curate` (issue 18)
    result = checks.curate(got.canaries, everything, organisation, memo=memo)
    got.doc["leaks"] = result.seen
    got.save(changed=result.seen != memo)
    return result, bytes.fromhex(got.secret)


@dataclass
class _Gathered:
    """What `_gather` found: the canaries, the cache's document to write back (when
    `dirty`), the parts refused (raised by `save`, once the cache is written)."""

    canaries: list[Canary]
    secret: str
    doc: dict[str, Any]
    dirty: bool
    refused: list[str]
    file: cache_mod.CacheFile | None
    keyring: Keyring
    recipients: list[str]
    # While parked: each part's (digest, signers' digest), its canaries being `canaries`.
    heads: dict[str, tuple[str, str]] | None = None

    def park(self) -> None:
        """Drop the document's copy of the canaries (a list a canary, repeating
        `canaries`) until `save` needs it: `save` makes it again from `canaries`, in the
        same order, so the file written is the same."""
        parts = self.doc.pop("parts")
        self.heads = {cid: (entry[0], entry[2]) for cid, entry in parts.items()}

    def save(self, changed: bool = False) -> None:
        """Write the cache if anything in it changed; then `cases.PartsRefused` if a part
        was refused."""
        if (self.dirty or changed) and self.recipients and self.file is not None:
            doc = self.doc
            if self.heads is not None:
                parts: dict[str, Any] = {cid: [digest, [], policy]
                                         for cid, (digest, policy) in self.heads.items()}
                for c in self.canaries:
                    parts[c.case_id][1].append([c.value, c.field, c.suffix])
                doc = {**doc, "parts": parts}
            vault.save_doc(self.file, self.keyring, self.recipients, doc)
        if self.refused:
            # Never a build without a part's canaries: the gate would not know its values.
            raise cases_mod.PartsRefused(self.refused)


def _gather(repo: Path, case_ids: Iterable[str], keyring: Keyring, rcpts: list[str]
            ) -> _Gathered:
    """The canaries of `case_ids`' private parts, decrypting only what changed."""
    from temoin import gates as checks

    store = cache_mod.Store.open(repo)
    # Unchanged private parts are stat-ed, not read.
    files = cache_mod.StatCache(repo, STAT_PRIVATE, store)
    file = store.file(CANARIES) if store is not None else None
    doc = _read(file, keyring)
    cached: dict[str, Any] = doc.get("parts") or {}
    secret = _secret(doc)
    fresh = not secret
    secret = secret or os.urandom(32).hex()
    todo: list[tuple[str, str]] = []
    parts: dict[str, Any] = {}
    refused: list[str] = []
    with Signers.for_repo(repo) as signers:
        # A part judged under other signers (an editor removed, a key file changed) is
        # judged again: its entry keeps the digest of the signers that accepted it.
        policy = signers.digest()
        for cid in case_ids:
            digest = files.sha256(cases_mod.private_path(repo, cid))
            if digest is None:
                continue
            entry = cached.get(cid)
            if isinstance(entry, list) and len(entry) == 3 and entry[0] == digest \
                    and entry[2] == policy:
                parts[cid] = entry
            else:
                todo.append((cid, digest))
        if todo:  # one gpg run decrypts them and checks their inner signatures
            found, why = cases_mod.read_privates(repo, [cid for cid, _ in todo],
                                                 vault.Vault(keyring, rcpts), signers)
            for cid, digest in todo:
                if cid in found:
                    parts[cid] = [digest, [[c.value, c.field, c.suffix] for c in
                                           checks.canaries_from_private(cid, found[cid])],
                                  policy]
                elif cid in why:
                    refused.append(why[cid])
    files.save()
    dirty = bool(todo) or fresh or set(cached) != set(parts)
    leaks = doc.get("leaks")
    return _Gathered([checks.Canary(str(v), cid, str(f), bool(s))
                      for cid in sorted(parts) for v, f, s in parts[cid][1]],
                     secret, {"parts": parts, "secret": secret,
                              "leaks": leaks if isinstance(leaks, dict) else {}},
                     dirty, refused, file, keyring, rcpts)
