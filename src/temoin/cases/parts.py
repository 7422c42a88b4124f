"""The confidential parts of a case: `private.yaml.asc` and its evidence files, each signed by
whoever wrote it (an editor, or the intake's inbox key) and then encrypted to the editors
(issue 16: anyone holding the editors' public keys can encrypt a file to them; only the
inner signature says who wrote it). Reading one checks that signature (`keys.signers`) in
the same gpg run and refuses a part nobody the signed trust root names signed.
`temoin.cases` re-exports these."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from temoin import padding, strict_yaml
from temoin.cases.front_matter import _SafeLoader
from temoin.cases.versions import PartMemory
from temoin.errors import CryptoError, ValidationError
from temoin.files import write_atomic
from temoin.keys import signers as signers_mod
from temoin.keys.signers import Opened, Signers
from temoin.keys.vault import fix as vault_fix

if TYPE_CHECKING:
    from temoin.keys import Keyring
    from temoin.keys.vault import Vault

PRIVATE = "private.yaml.asc"
MAX_PRIVATE = 64 * 1024 * 1024  # bytes of a decrypted private part (testimony, notes)


def case_dir(repo: Path, case_id: str) -> Path:
    from temoin.cases import case_dir as folder

    return folder(repo, case_id)


# -- confidential parts -----------------------------------------------------------------
def private_path(repo: Path, case_id: str) -> Path:
    return case_dir(repo, case_id) / PRIVATE


# libyaml's emitter when present (8x less CPU than the pure-Python one); its YAML loads
# back to the same data with _SafeLoader.
_SafeDumper: type[yaml.SafeDumper] = strict_yaml.NoAliasCDumper or strict_yaml.NoAliasDumper


def private_yaml(data: dict[str, Any]) -> bytes:
    """The private part as the YAML that `write_private` encrypts (in memory only)."""
    try:
        text = yaml.dump(data, Dumper=_SafeDumper, allow_unicode=True, sort_keys=False,
                         width=100)
    except UnicodeError:  # libyaml refuses a lone surrogate; the Python emitter escapes it
        text = yaml.dump(data, Dumper=strict_yaml.NoAliasDumper, allow_unicode=True,
                         sort_keys=False, width=100)
    return text.encode("utf-8")


# The first line of every private part's plaintext, inside the signature: a part signed for
# one case is refused in another folder (a signed part moved between cases), and its version
# (`cases.versions`: an older part restored from history is refused where a newer was seen).
# Parts written before versions have no `version N, ` (version 0).
_HEADER = "# temoin: the private part of {}, version {}, signed by its writer\n"
_HEADER_RE = re.compile(rb"# temoin: the private part of ([^,\n]{1,80}), (?:version (\d{1,18}), )?"
                        rb"signed by its writer\n")


def plaintext(case_id: str, data: dict[str, Any], version: int = 1) -> bytes:
    """What a private part's ciphertext holds: the header naming the case and the part's
    version (1 for a new case's), then the YAML."""
    return _HEADER.format(case_id, version).encode("utf-8") + private_yaml(data)


def header(text: bytes) -> tuple[str, int, int] | None:
    """(case id, version, length of the header) of a private part's plaintext, else None."""
    m = _HEADER_RE.match(text)
    if m is None:
        return None
    return m.group(1).decode("utf-8", "replace"), int(m.group(2) or 0), m.end()


class PartsRefused(CryptoError):
    """Private parts that are not ours (exit 3): each problem names the file and the fix."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} confidential part(s) refused:\n"
                         + "\n".join(f"  - {p}" for p in problems))


fix = vault_fix  # the way out of a refused part (shared with sealed files)


def write_private(repo: Path, case_id: str, data: dict[str, Any], keyring: Keyring,
                  recipients: Iterable[str], signer: str) -> Path:
    """Sign the private part as `signer` (the editor who wrote it), numbered past the newest
    version of it this machine has seen (`cases.versions`), encrypt it to every recipient
    and write it atomically (no plaintext ever touches the disk)."""
    path = private_path(repo, case_id)
    memory = PartMemory(repo)
    newest = memory.newest(case_id)
    if newest is None and path.is_file():  # never read here: its version, from its header
        res = keyring.decrypt(path.read_bytes(), max_output=MAX_PRIVATE)
        found = header(res.plaintext) if res.ok else None
        newest = found[1] if found is not None else 0
    text = padding.pad_text(plaintext(case_id, data, (newest or 0) + 1))
    write_atomic(path, keyring.encrypt(text, recipients, sign=signer, compress=False),
                 mode=0o644)
    memory.see(case_id, (newest or 0) + 1, text)  # as readers will hash it: padded
    memory.save()
    return path


def judge_private(case_id: str, opened: Opened, where: str, memory: PartMemory | None = None
                  ) -> tuple[dict[str, Any] | None, str]:
    """(the private part, "") when `opened` (a decrypted private part) is one an editor or the
    intake signed for this case and, with `memory`, not older than the newest version of it
    this machine has seen; else (None, why it is refused: file, reason, the fix)."""
    if opened.plaintext is None:
        why = f" ({opened.reason})" if opened.reason else ""
        return None, (f"{where}: cannot decrypt{why}; is your editor secret key in GNUPGHOME? "
                      f"(a file not encrypted to you: {fix(where)})")
    if not opened.signature.ok:
        return None, f"{where}: refused: {opened.signature.problem}. Fix: {fix(where)}"
    text = opened.plaintext
    found = header(text)
    if found is None or found[0] != case_id:
        why = (f"signed for another case ({found[0][:40]}), not {case_id}" if found else
               "signed without the header naming its case")
        return None, f"{where}: refused: {why}. Fix: {fix(where)}"
    if memory is not None:
        problem = memory.check(case_id, found[1], text, where)
        if problem:
            return None, problem
    head = text[:found[2]]
    # Strict too (a pushed private part is as hostile as a case.md: an alias bomb would
    # hang every walk over it), but a short scalar's alias (`&id001` for a repeated date,
    # written by earlier versions) is read.
    try:
        data = strict_yaml.load(text[len(head):].decode("utf-8"), where, _SafeLoader,
                                scalar_aliases=True) or {}
    except UnicodeDecodeError:
        return None, f"{where}: private part is not UTF-8 text"
    except ValidationError as exc:
        return None, "; ".join(exc.problems)
    if not isinstance(data, dict):
        return None, f"{where}: private part is not a mapping"
    return data, ""


def read_private(repo: Path, case_id: str, keyring: Keyring,
                 signers: Signers | None = None) -> dict[str, Any]:
    """Decrypt the private part into memory ({} when the case has none), in one gpg run
    that also checks its inner signature: a part not signed by a current editor or the
    inbox key of the signed trust root, or signed for another case, is refused
    (CryptoError naming the file and the fix). `signers`: those of the repository, made
    here when not given (see `keys.signers`)."""
    path = private_path(repo, case_id)
    if not path.exists():
        return {}
    where = path.relative_to(repo).as_posix()
    with signers_mod.ensure(signers, Path(repo)) as judge:
        res = keyring.decrypt(path.read_bytes(), max_output=MAX_PRIVATE,
                              extra=judge.extra_args())
        opened = Opened(res.plaintext if res.ok else None, judge.judge(res.status),
                        res.reason)
    memory = PartMemory(repo)
    data, problem = judge_private(case_id, opened, where, memory)
    memory.save()
    if data is None:
        raise CryptoError(problem)
    return data


def read_privates(repo: Path, case_ids: Iterable[str], vault: Vault, signers: Signers
                  ) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """The private parts of `case_ids` that have one, with one gpg run: ({id: part},
    {id: why it is refused}); each judged as `read_private` judges one."""
    repo = Path(repo)
    todo = [cid for cid in case_ids if private_path(repo, cid).is_file()]
    # A smartcard takes up to a second a part: the run's time limit grows with its size.
    opened = vault.open_signed_many((private_path(repo, cid).read_bytes() for cid in todo),
                                    signers, MAX_PRIVATE, timeout=300.0 + len(todo))
    parts: dict[str, dict[str, Any]] = {}
    refused: dict[str, str] = {}
    memory = PartMemory(repo)
    for cid, one in zip(todo, opened, strict=True):
        data, problem = judge_private(cid, one, f"cases/{cid}/{PRIVATE}", memory)
        if data is None:
            refused[cid] = problem
        else:
            parts[cid] = data
    memory.save()
    return parts, refused


# -- evidence ------------------------------------------------------------------------------
# An evidence file is named by a keyed hash of its case id and sha256 (the key: the editors'
# id secret, `keys/id-secret.asc`): the name says nothing of its content to anyone holding
# the file, and a case given a new id (`temoin migrate`) gets new names, so its evidence
# does not link the new id to the old one. The private part lists each file (`file`) with
# its sha256: the index is encrypted. Files of earlier versions are `<sha256>.asc`.
_NAME = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{64})\.asc$")
_NAME_LABEL = b"temoin evidence name v1\0"


def evidence_name(key: bytes, case_id: str, sha256: str) -> str:
    """The file name of the evidence `sha256` of `case_id` (32 hex digits + .asc)."""
    msg = _NAME_LABEL + case_id.encode("ascii") + b"\0" + sha256.encode("ascii")
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32] + ".asc"


def evidence_file(repo: Path, case_id: str, entry: Mapping[str, Any] | str) -> Path:
    """Where an evidence entry of the private part is stored: its `file` when it names
    one well-formed, else (earlier versions, or a bare sha256) `<sha256>.asc`."""
    if isinstance(entry, str):
        return case_dir(repo, case_id) / "evidence" / f"{entry}.asc"
    name = entry.get("file")
    if not (isinstance(name, str) and _NAME.match(name)):
        name = f"{entry.get('sha256')}.asc"
    return case_dir(repo, case_id) / "evidence" / name


def evidence_path(repo: Path, case_id: str, sha256: str, key: bytes | None = None) -> Path:
    """The evidence file of `sha256`: its keyed name with `key`, else `<sha256>.asc`."""
    name = evidence_name(key, case_id, sha256) if key is not None else f"{sha256}.asc"
    return case_dir(repo, case_id) / "evidence" / name


def write_evidence(repo: Path, case_id: str, data: bytes, keyring: Keyring,
                   recipients: Iterable[str], signer: str, key: bytes | None = None) -> str:
    """Store an attachment signed by `signer` and encrypted, under its keyed name with
    `key` (the id secret: `evidence_path`), else as `<sha256>.asc`; return its sha256."""
    digest = hashlib.sha256(data).hexdigest()
    path = evidence_path(repo, case_id, digest, key)
    if not path.exists():
        write_atomic(path, keyring.encrypt(padding.pad_bytes(data), recipients, sign=signer,
                                           compress=False))
    return digest


def read_evidence(repo: Path, case_id: str, entry: Mapping[str, Any] | str, keyring: Keyring,
                  signers: Signers | None = None) -> bytes:
    """Decrypt one evidence file into memory: refused unless signed by a current editor or
    the inbox key of the signed trust root and holding the bytes its sha256 names (the
    entry of the signed private part, or a bare sha256 for `<sha256>.asc`)."""
    sha256 = entry if isinstance(entry, str) else str(entry.get("sha256"))
    path = evidence_file(repo, case_id, entry)
    where = path.relative_to(repo).as_posix()
    with signers_mod.ensure(signers, Path(repo)) as judge:
        res = keyring.decrypt(path.read_bytes(), max_output=1 << 31, extra=judge.extra_args())
        signature = judge.judge(res.status)
    plain = padding.unpad_bytes(res.plaintext, sha256) if res.ok else b""
    if not res.ok or hashlib.sha256(plain).hexdigest() != sha256:
        raise CryptoError(f"{where}: cannot decrypt or hash mismatch")
    if not signature.ok:
        raise CryptoError(f"{where}: refused: {signature.problem}. Fix: {fix(where)}")
    return plain
