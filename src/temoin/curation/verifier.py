"""Signed editorial decisions, checked: what a decision is about (`canonical`,
`content_hash`), whether one counts (`judged`: a good signature by a roster key for the current
content), and `CachedVerifier`, which checks signatures against `keys/editors/` and remembers
the good ones in this user's authenticated cache folder."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cache as cache_mod
from temoin import cases as cases_mod
from temoin.cases import Case, schema
from temoin.cases import review as review_files
from temoin.curation import consent, decisions, heads, precision_memo
from temoin.errors import CryptoError
from temoin.files import read_key_file

if TYPE_CHECKING:
    from temoin.cache import StatCache


# Fields that record the workflow rather than the facts: changing them needs no re-approval
# (the `workflow` column of the field table).
WORKFLOW_KEYS = schema.WORKFLOW_KEYS
DECISIONS = ("verify", "approve")
# Every signed decision the gate reads (issue 16: only signatures make things public).
SIGNED = ("verify", "approve", "risk-review", "publish", "urgent", "interventions",
          "withdraw", "consent", decisions.CHAIN)
REVIEW = "review"
# The command that (re)signs each decision, for messages.
REDO = {"verify": "`temoin case verify ID --level LEVEL`", "approve": "`temoin case approve ID`",
        "risk-review": "`temoin case risk-review ID`", "publish": "`temoin case publish ID`",
        "urgent": "`temoin case urgent ID`", "interventions": "`temoin case intervene ID`",
        "withdraw": "`temoin case withdraw ID`",
        "consent": "`temoin case consent ID --ceiling CONSENT --how HOW --given-by WHO`"}


def canonical(case: Case, files: StatCache | None = None) -> bytes:
    """The bytes a decision is about: public facts and narrative, plus media hashes.
    `files`: the build's stat cache (media files unchanged since are not read)."""
    facts = {k: v for k, v in case.meta.items() if k not in WORKFLOW_KEYS}
    media = {}
    folder = case.folder / "media"
    for m in case.meta.get("media") or []:
        f = folder / str(m.get("file"))
        if files is not None:
            media[str(m.get("file"))] = files.sha256(f)
        else:
            media[str(m.get("file"))] = hashlib.sha256(f.read_bytes()).hexdigest() \
                if f.is_file() else None
    doc = {"facts": facts, "narrative": case.narrative.strip(), "media": media}
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str,
                      separators=(",", ":")).encode("utf-8")


def content_hash(case: Case, files: StatCache | None = None) -> str:
    return hashlib.sha256(canonical(case, files)).hexdigest()


def statement(case: Case, decision: str, editor: str, day: dt.date,
              **extra: Any) -> bytes:
    """The signed statement of one decision about the case's current content, as canonical
    JSON bytes (`decisions.statement`: one format for every kind)."""
    return decisions.statement(decision, case.id, content_hash(case), editor, day, extra)


def decision_paths(case: Case, decision: str) -> tuple[Path, Path]:
    return decisions.paths(case.folder / REVIEW, decision)


Verifier = decisions.Verifier  # (data, signature) -> signer fpr or None


def check_decision(case: Case, decision: str, expected_editor: str | None,
                   editors: Iterable[str], verify: Verifier, content: str | None = None,
                   files: StatCache | None = None) -> list[str]:
    """Problems with one decision (missing, for other content, bad signature, wrong editor).
    `content`: the case's `content_hash`, when the caller has it already. `files` (with a
    CachedVerifier): the build's stat cache; unchanged statements and signatures not read."""
    return judged(case, decision, expected_editor, editors, verify, content, files)[1]


def judged(case: Case, decision: str, expected_editor: str | None, editors: Iterable[str],
           verify: Verifier, content: str | None = None, files: StatCache | None = None
           ) -> tuple[decisions.Decision | None, list[str]]:
    """(the decision, []) when the signed `decision` of `case` counts — a good signature by
    a roster key, before its revocation or expiry, for the current content (any content
    for a withdrawal) — else (None or the statement, problems)."""
    data_path, sig_path = decision_paths(case, decision)
    where = f"cases/{case.id}/{REVIEW}/{decision}.json"
    data: bytes | None = None
    sig_sha: str | None = None  # known from the stat cache: the signature is read if needed
    if files is not None and isinstance(verify, CachedVerifier):
        data = files.text(data_path)
        sig_sha = files.sha256(sig_path) if data is not None else None
        if sig_sha is None:
            data = None
    sealed: bytes | None = None  # the signature of a sealed decision (`cases.review`)
    if data is None:
        pair = review_files.read(data_path)
        if pair is not None:
            data, sealed = pair
    redo = REDO.get(decision, f"`temoin case {decision} ID`").replace("ID", case.id)
    if data is None:
        return None, [decisions.missing(decision, where, redo)]
    if sig_sha is not None:
        assert isinstance(verify, CachedVerifier)
        signer = verify.by_digest(data, sig_sha, sig_path)
    else:
        signer = verify(data, sealed if sealed is not None else sig_path.read_bytes())
    # A withdrawal stays a withdrawal, and a consent statement records what a person gave:
    # both name the content they were signed on but hold whatever it becomes.
    covers = None if decision in ("withdraw", consent.KIND) else (content or content_hash(case))
    editors = list(editors)
    root = verify.root_of(case.folder) if isinstance(verify, CachedVerifier) else \
        decisions.root_of(case.folder / REVIEW)
    doc, problems = decisions.judge(data, signer, decision, case.id, where, covers, editors,
                                    redo, root)
    # Signed, but is it the current one of its slot (not an older one restored)? A signed
    # withdrawal always counts: a withdrawal is final, whatever the chain says.
    if not problems and decision != "withdraw":
        folder = case.folder / REVIEW
        chain = verify.chain(folder, case.id, editors, files) if isinstance(
            verify, CachedVerifier) else decisions.chain_of(verify, folder, case.id, editors)
        stale = chain.stale(decision, data, where, redo)
        if stale:
            problems.append(stale)
    if not problems and expected_editor and signer != expected_editor \
            and decision in DECISIONS:
        problems.append(f"{where}: signed by {signer} but review.{decision_field(decision)} "
                        f"says {expected_editor}")
    return (doc if not problems else None), problems


def signed(case: Case, kind: str, editors: Iterable[str], verify: Verifier,
           content: str | None = None, files: StatCache | None = None
           ) -> decisions.Decision | None:
    """The `kind` decision of `case` if it counts, else None."""
    return judged(case, kind, None, editors, verify, content, files)[0]


def decision_field(decision: str) -> str:
    return {"verify": "verified_by", "approve": "approved_by"}[decision]


def editor_key_files(repo: Path) -> list[Path]:
    """The editors' key files; links are left out, never followed (the trust root check
    names them)."""
    return sorted(p for p in (Path(repo) / "keys" / "editors").glob("*.asc")
                  if p.is_file() and not p.is_symlink())


SIGNATURES = cache_mod.Spec(
    "signatures.json", ("temoin.curation", "temoin.keys"), ("python-gnupg", "pysequoia"),
    "signer of each good decision signature, by sha256(editor keys, statement, signature)")


class CachedVerifier:
    """Verify decision signatures against `keys/editors/`, remembering good results.

    Signatures are checked in process (`keys.verify`: well under a millisecond each; a gpg
    process, ~9 ms, only for what Sequoia leaves to gpg); a 20,000-case build checks tens
    of thousands (five or more a published case). The cache (`SIGNATURES`, in this user's
    cache folder, authenticated with its key) maps sha256(editor keys ‖ statement ‖
    signature) to the signer: it only ever saves a check of the exact same bytes under the
    exact same editor keys. A file this folder's key did not sign (copied, committed,
    forged) is ignored: every signature is verified again.
    """

    def __init__(self, repo: Path, whole: bool = False) -> None:
        """`whole`: this run gates every case (a full build): remembered precision
        findings no case used are dropped when it closes."""
        self.repo = Path(repo)
        self.whole = whole
        self.files = editor_key_files(repo)
        keyset = hashlib.sha256()
        for f in self.files:  # bounded: a pushed key file of gigabytes is refused
            keyset.update(hashlib.sha256(read_key_file(f, CryptoError) or b"").digest())
        self.keyset = keyset.hexdigest()
        self.file = cache_mod.open_file(self.repo, SIGNATURES)
        self.cache: dict[str, str] = {}
        raw = self.file.load() if self.file is not None else None
        with contextlib.suppress(ValueError, TypeError):
            found = json.loads(raw) if raw is not None else None
            if isinstance(found, dict):
                self.cache = {k: v for k, v in found.items()
                              if isinstance(k, str) and isinstance(v, str)}
        self._dirty = False
        self._ctx: Any = None
        self._kr: Any = None
        self._chains: dict[tuple[str, tuple[str, ...]], decisions.Chain] = {}
        self._memory: heads.Memory | None = None
        self._precision: precision_memo.Memo | None = None
        self._roots: dict[Path, str | None] = {}
        self._withdrawn: tuple[Path | None, tuple[int, ...], dict[str, str]] | None = None

    @property
    def precision(self) -> precision_memo.Memo:
        """The precision findings this user's builds found before (`precision_memo`): a
        build's gate judges the same texts again, this saves the regex work."""
        if self._precision is None:
            self._precision = precision_memo.Memo(self.repo)
        return self._precision

    def root_of(self, case_folder: Path) -> str | None:
        """`decisions.root_of` of a case folder's repository, read once for this
        verifier's life (a build: the trust root was verified and pinned before it)."""
        repo = case_folder.parent.parent
        if repo not in self._roots:
            self._roots[repo] = decisions.root_of(case_folder / REVIEW)
        return self._roots[repo]

    def seen_withdrawn(self) -> dict[str, str]:
        """`trust.seen_withdrawn` of this repository: the memory file found once, read
        again whenever its (inode, size, mtime, ctime) differ or it changed in the last
        `cache.RACY` seconds (a withdrawal remembered meanwhile is seen)."""
        from temoin import trust

        if self._withdrawn is None:
            self._withdrawn = (trust.withdrawn_file(self.repo), (), {})
        path, key, seen = self._withdrawn
        if path is None:
            return {}
        now: tuple[int, ...] = ()
        with contextlib.suppress(OSError):
            st = os.stat(path)
            now = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if not now or now != key or max(now[2:]) >= time.time_ns() - int(
                cache_mod.RACY * 1e9):
            seen = trust.seen_withdrawn(self.repo, path)
            self._withdrawn = (path, now, seen)
        return seen

    @property
    def memory(self) -> heads.Memory:
        """What this machine has seen of the repository's decision chains."""
        if self._memory is None:
            self._memory = heads.Memory(self.repo)
        return self._memory

    def chain(self, folder: Path, case_id: str, roster: Iterable[str],
              files: StatCache | None = None, remember: bool = True) -> decisions.Chain:
        """The chain of the decisions in `folder`, evaluated once for this verifier's life
        (no decision is recorded meanwhile: steps make a new verifier after recording),
        checked against what this machine has seen of it (`remember`; see `heads`)."""
        key = (str(folder), tuple(sorted(roster)))
        if key not in self._chains or not remember:
            def read(path: Path) -> bytes | None:
                found = files.text(path) if files is not None else None
                return found if found is not None else review_files.statement(path)

            def signer(path: Path, data: bytes) -> str | None:
                sig = path.with_name(path.name + ".asc")
                digest = files.sha256(sig) if files is not None else None
                if digest is not None:
                    return self.by_digest(data, digest, sig)
                try:
                    return self(data, sig.read_bytes())
                except OSError:
                    pair = review_files.read(path)  # sealed (`cases.review`)
                    return self(data, pair[1]) if pair is not None and pair[0] == data \
                        else None

            found = decisions.evaluate(folder, case_id, key[1], signer, read,
                                       self.root_of(folder.parent))
            if not remember:
                return found
            self._chains[key] = self.memory.check(case_id, found)
        return self._chains[key]

    def _key(self, data: bytes, signature: bytes) -> str:
        return self._digest_key(data, hashlib.sha256(signature).digest())

    def _digest_key(self, data: bytes, signature_sha256: bytes) -> str:
        return hashlib.sha256(self.keyset.encode() + hashlib.sha256(data).digest()
                              + signature_sha256).hexdigest()

    def by_digest(self, data: bytes, signature_sha256: str, path: Path) -> str | None:
        """`self(data, signature)` for the signature at `path` whose sha256 the stat cache
        gave: read only when the cache does not know the pair."""
        key = self._digest_key(data, bytes.fromhex(signature_sha256))
        if key in self.cache:
            return self.cache[key]
        try:
            signature = path.read_bytes()
        except OSError:
            return None
        return self(data, signature)

    def _keyring(self) -> Any:
        if self._kr is None:
            from temoin import keys

            self._ctx = keys.public_keyring(self.files)
            self._kr = self._ctx.__enter__()
        return self._kr

    def __call__(self, data: bytes, signature: bytes) -> str | None:
        key = self._key(data, signature)
        if key in self.cache:
            return self.cache[key]
        if not self.files:
            return None
        signer: str | None = self._keyring().verify_detached(data, signature)
        if signer:
            self.cache[key] = signer
            self._dirty = True
        return signer

    def warm(self, jobs: int | None = None, files: StatCache | None = None) -> int:
        """Verify, in parallel, every decision signature under cases/ not yet cached.

        On a machine that has never built the repo (a fresh clone, a new CI runner) every
        signature is a miss. Most are checked in process; those left to gpg (a process
        each, ~20 ms) overlap well across threads. Returns how many were verified; does
        nothing when the cache already holds about as many entries as there are signatures
        (the build then verifies the few misses one by one, as before). With `files` (the
        build's stat cache) it goes through each case's decisions instead of globbing
        review/ folders: unchanged files are stat-ed, not read."""
        root = self.repo / cases_mod.CASES
        if not self.files or not root.is_dir():
            return 0
        with os.scandir(root) as entries:  # at most two signatures a case: a warm cache
            folders = sum(1 for e in entries if e.is_dir())  # needs no walk of review/
        if len(self.cache) >= 2 * folders:
            return 0
        if files is not None:
            return self._warm_pairs(self._pairs(root, files), jobs)
        sigs = sorted(root.glob(f"*/{REVIEW}/*.json.asc"))
        if not sigs or len(self.cache) >= len(sigs):
            return 0
        todo = []
        for sig in sigs:
            data_path = sig.with_suffix("")
            if data_path.is_file():
                data, signature = data_path.read_bytes(), sig.read_bytes()
                if self._key(data, signature) not in self.cache:
                    todo.append((data, signature))
        return self._warm_pairs(todo, jobs)

    def _pairs(self, root: Path, files: StatCache) -> list[tuple[bytes, bytes]]:
        """(statement, signature) of every decision the gate checks not in the cache."""
        todo = []
        with os.scandir(root) as entries:
            folders = sorted(e.name for e in entries if e.is_dir())
        for name in folders:
            review = root / name / REVIEW
            for decision in SIGNED:
                data_path = review / f"{decision}.json"
                sig_path = review / f"{decision}.json.asc"
                data = files.text(data_path)
                sig_sha, signature = files.sha256_read(sig_path) if data is not None \
                    else (None, None)
                if data is None or sig_sha is None:
                    continue
                if self._digest_key(data, bytes.fromhex(sig_sha)) not in self.cache:
                    if signature is None:  # known to the stat cache: not read yet
                        with contextlib.suppress(OSError):
                            signature = sig_path.read_bytes()
                    if signature is not None:
                        todo.append((data, signature))
        return todo

    def _warm_pairs(self, todo: list[tuple[bytes, bytes]], jobs: int | None) -> int:
        if todo:
            from concurrent.futures import ThreadPoolExecutor

            self._keyring()
            with ThreadPoolExecutor(jobs or min(8, 2 * (os.cpu_count() or 1))) as pool:
                list(pool.map(lambda pair: self(*pair), todo))
        return len(todo)

    def close(self) -> None:
        if self._memory is not None:
            self._memory.save()
        if self._precision is not None:
            self._precision.save(self.whole)
            self._precision = None
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = self._kr = None
        if self._dirty and self.file is not None:
            self.file.save(json.dumps(self.cache, sort_keys=True).encode())
        self._dirty = False

    def __enter__(self) -> CachedVerifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
