"""Signed dismissal of a canary form in its own case's public text (issue 15, item 1).

Each distinctive part of a private name is a canary alone ("Ntakirutimana" of "Jean
Ntakirutimana"). When that part is also a public figure's name and the case's public text
names that figure ("le ministre Ntakirutimana a nié"), the build refuses the case for good.
An editor may then sign `temoin case dismiss ID --canary WORD --reason …`:

- **What it lets through.** That form, of that case's canaries only, where it stands in the
  case's own public text: each run of up to `gates.guard.CONTEXT_WORDS` words on each side
  of it in the title, summary, narrative and intervention summaries, wherever the site
  shows that text (page, listings, feeds, search, bulletins). The full name and every other
  form still block everywhere; the form elsewhere (another case's page, another sentence)
  still blocks; so do other cases' canaries with the same value.
- **The decision.** Kind `canary-dismissal`, in `review/canary-dismissal--<name>.json`,
  payload `{"form": HMAC, "reason": sealed}`. The form is named by an HMAC-SHA256 keyed with
  the editors' id secret (`keys/id-secret.asc`), never in plaintext: the word is on the
  page, and a plaintext dismissal would tell whoever reads the repository that this case's
  private part holds it (that the victim bears the minister's name). The reason is sealed
  to the editors for the same reason. `<name>` is the HMAC's first 16 hex digits.
- **What counts.** A good signature by an editor of the signed roster (before revocation
  or expiry), naming that editor, this case and its *current* content hash: any change of
  the public content (a new verification level included) needs a new dismissal, since the
  runs it lets through change with it. Hand-written, unsigned or outsider-signed files
  change nothing. The build, `case publish` and `temoin check` all read them here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cases, curation, custody, gates
from temoin.cases import review as review_files
from temoin.curation import decisions, precision
from temoin.errors import CaseError, CryptoError
from temoin.gates import canaries as can
from temoin.gates import guard
from temoin.gates.fold import fold

if TYPE_CHECKING:
    from temoin.cases import Case
    from temoin.config import Config
    from temoin.keys import Keyring

KIND = "canary-dismissal"
_LABEL = b"temoin canary dismissal v1\0"


def command(case_id: str = "ID") -> str:
    """The command a refusal names (the word is never printed: it is private)."""
    return f"`temoin case dismiss {case_id} --canary WORD --reason …`"


def hint(case_id: str = "ID") -> str:
    """What a canary refusal adds: when a dismissal applies, and the command."""
    return ("if a word refused is one part of a private name that is also a public figure's "
            "name, and the case's own text names that figure, an editor may sign "
            f"{command(case_id)}")


def tag(key: bytes, case_id: str, form: str) -> str:
    """The keyed name of one form of one case (hex HMAC-SHA256 with the id secret)."""
    return hmac.new(key, _LABEL + case_id.encode("utf-8") + b"\0" + fold(form).encode("utf-8"),
                    hashlib.sha256).hexdigest()


def dismissable(form: str) -> bool:
    """Only one word with a letter: a name part, never a whole name, number or address."""
    return bool(form) and " " not in form and any(c.isalpha() for c in form)


def public_texts(case: Case) -> list[str]:
    """The texts whose runs a dismissal lets through (`precision.public_texts`)."""
    return [text for _field, text in precision.public_texts(case)]


def dismissed(case: Case, cfg: Config, verify: decisions.Verifier, key: bytes | None,
              forms: Iterable[str]) -> set[str]:
    """The forms among `forms` that a signed dismissal of `case` counts for, now."""
    folder = case.folder / decisions.FOLDER
    files = review_files.slots(folder, f"{KIND}--*") if folder.is_dir() else []
    if not files or key is None:
        return set()
    by_tag = {tag(key, case.id, f): f for f in forms if dismissable(f)}
    content = curation.content_hash(case)
    out: set[str] = set()
    for path in files:
        name = path.name[len(KIND) + 2:-len(".json")]
        try:
            found, problems = decisions.check(folder, KIND, case.id, content,
                                              cfg.recipient_fingerprints, verify,
                                              f"cases/{case.id}/review/{path.name}",
                                              command(case.id), name)
        except ValueError:  # a name decisions.paths refuses: not ours
            continue
        t = found.payload.get("form") if found is not None and not problems else None
        if isinstance(t, str) and t.startswith(name) and t in by_tag:
            out.add(by_tag[t])
    return out


def _has_files(case: Any) -> bool:
    folder = getattr(case, "folder", None)
    return folder is not None and bool(
        review_files.slots(Path(folder) / decisions.FOLDER, f"{KIND}--*"))


def allow(repo: Path, cfg: Config, all_cases: Iterable[Any], canaries: list[guard.Canary],
          keyring: Keyring | None, verify: decisions.Verifier) -> list[guard.Canary]:
    """`canaries`, each dismissed one carrying the runs of its case's public text it may
    stand in (`guard.Canary.allowed`). Reads `keys/id-secret.asc` only when some case
    holds a dismissal file; writes nothing."""
    wanted = [c for c in all_cases if _has_files(c)]
    if not wanted or keyring is None:
        return canaries
    from temoin.keys import vault

    key = vault.for_repo(repo, keyring, cfg.recipient_fingerprints).existing_id_key(repo)
    runs: dict[tuple[str, str], tuple[str, ...]] = {}
    for case in wanted:
        forms = {c.value for c in canaries if c.case_id == case.id}
        # As the site shows it: intervention summaries from their signed decision, never
        # from case.md (a workflow field anyone can edit there, outside the content hash).
        texts = public_texts(curation.public_view(case, cfg, verify))
        for form in dismissed(case, cfg, verify, key, forms):
            runs[(case.id, form)] = guard.contexts(texts, form)
    if not runs:
        return canaries
    # The rest of the name beside the dismissed part still blocks, there too: "Bosco
    # Ntakirutimana" or "J. Ntakirutimana" of a private "Jean Bosco Ntakirutimana".
    have = {(c.case_id, c.value) for c in canaries}
    beside = {(c.case_id, sub): c.field for c in canaries if not c.suffix
              and can.is_name_field(c.field) for cid, form in runs if c.case_id == cid
              for sub in can.beside(c.value, form)}
    return [dataclasses.replace(c, allowed=tuple(sorted({*c.allowed,
                                                         *runs[(c.case_id, c.value)]})))
            if (c.case_id, c.value) in runs and not c.suffix else c for c in canaries] + [
        guard.Canary(sub, cid, where) for (cid, sub), where in sorted(beside.items())
        if (cid, sub) not in have]


def dismiss(repo: Path, cfg: Config, keyring: Keyring, case_id: str, editor: str, form: str,
            reason: str, today: dt.date) -> str:
    """Sign a canary dismissal: `form`, one word of the case's private names that is also a
    public figure's name, may stand where the case's current public text names it. Returns
    the line to show (never the word)."""
    from temoin.keys import vault

    case = cases.load(repo, case_id)
    curation.check_working(case, "dismiss")
    folded = fold(form)
    if not dismissable(folded):
        raise CaseError("--canary: one word, as the canary gate refused it (a part of a name; "
                        "a whole name, number or address is never dismissed)")
    if not reason.strip():
        raise CaseError("--reason: say which public figure bears that name (sealed to the "
                        "editors: it is not public)")
    private = cases.read_private(repo, case.id, keyring)
    if folded not in {c.value for c in gates.own_canaries(case.id, private, case.meta)}:
        raise CaseError(f"--canary: not a form the canary gate derives from the private part "
                        f"of {case.id} (give one word of a private name, as it is spelt there)")
    if not guard.contexts(public_texts(case), folded):
        raise CaseError(f"--canary: the public text of {case.id} does not name it beside "
                        "another word: there is nothing to dismiss")
    if not keyring.has_secret(editor):
        raise CryptoError(f"a canary dismissal is signed with the acting editor's key, but the "
                          f"secret key of {cfg.editor_name(editor)} ({editor}) is not in "
                          f"{keyring.home}")
    box = vault.for_repo(repo, keyring, cfg.recipient_fingerprints)
    name = tag(box.id_key(repo), case.id, folded)
    sealed = box.seal(reason.strip().encode("utf-8")).decode("ascii")
    curation.record_statement(repo, case, KIND, editor, keyring, today,
                              {"form": name, "reason": sealed}, name=name[:16])
    custody.append(repo, "canary_dismissed", case=case.id, editor=editor, status=case.status,
                   content_sha256=curation.content_hash(case))
    return (f"Dismissed one canary form of {case.id} where its public text names it "
            f"({cfg.editor_name(editor)}); the full name and the form anywhere else still "
            "block. It holds for this content: any change (a new verification included) "
            "needs a new dismissal.")
