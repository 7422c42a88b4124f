"""Publication gate and signed editorial decisions (four eyes that cannot be faked).

A decision (verify, approve) is a small JSON statement — case id, decision, editor
fingerprint, date, and the sha256 of the case's canonical content — with a detached OpenPGP
signature by that editor, stored in `cases/<ID>/review/`. The gate recomputes the content
hash and checks both signatures against the editor keys in `keys/editors/`, so editing YAML
by hand cannot fake an approval, and any change to a published case's facts or narrative
needs a new verification and approval.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from temoin.cases import Case
from temoin.cases import review as review_files
from temoin.config import Config
from temoin.curation import consent, decisions, heads, precision
from temoin.curation.gate import (
    PUBLIC_CONSENTS,
    QUOTE_WORDS,
    SENSITIVE_CATEGORIES,
    anonymisation_problems,
    counts_in_statistics,
    gate_problems,
    hand_edits,
    partition,
    private_leaks,
    public_view,
    quote_id,
    release_problems,
    signed_problems,
    signed_withdrawal,
    unacknowledged_quotes,
    undone_withdrawal,
    verbatim_quotes,
    withdrawn_cases,
)
from temoin.curation.verifier import (
    DECISIONS,
    REDO,
    REVIEW,
    SIGNATURES,
    SIGNED,
    WORKFLOW_KEYS,
    CachedVerifier,
    Verifier,
    canonical,
    check_decision,
    content_hash,
    decision_field,
    decision_paths,
    editor_key_files,
    judged,
    signed,
    statement,
)


def record_decision(repo: Path, case: Case, decision: str, editor: str, keyring: Any,
                    day: dt.date, **extra: Any) -> Path:
    """Sign `decision` (any kind: verify, approve, risk-review, publish, urgent, …) about the
    case's current content as `editor` and store it in `cases/<ID>/review/`; for verify and
    approve also set `review.<verified_by|approved_by>` in the front matter (the caller
    saves the case). The signature is what counts; the field is for readers."""
    if decision in DECISIONS:
        review = dict(case.meta.get("review") or {})
        review[decision_field(decision)] = editor
        case.meta["review"] = review
    return record_statement(repo, case, decision, editor, keyring, day, extra)


def record_statement(repo: Path, case: Case, kind: str, editor: str, keyring: Any,
                     day: dt.date, payload: dict[str, Any], name: str | None = None) -> Path:
    """Sign a decision of `kind` (with `name`: one of several of a kind) as the next of the
    case's chain (issue 16, replay: `decisions`): it names the statements current now —
    those with a good signature by the roster that the newest ones name, never one restored
    beside them — and is numbered past both the chain and what this machine has seen."""
    folder = case.folder / REVIEW

    # Signatures are checked with the editor's own keyring, which is at hand (a keyring of
    # keys/ costs more than the signing), only as far as the chain needs (its newest good
    # statement, as a rule); nothing is taught to the cache the build trusts.
    def signer(path: Path, data: bytes) -> str | None:
        pair = review_files.read(path)
        found: str | None = keyring.verify_detached(data, pair[1]) \
            if pair is not None and pair[0] == data else None
        return found

    chain = decisions.evaluate(folder, case.id, _roster(Path(repo)), signer)
    seq = max(chain.seq, heads.Memory(Path(repo)).newest(case.id)) + 1
    # Nothing about a case the site does not show is plaintext (issue 16): its decisions
    # are sealed to the editors, and written plain when it is published (`cases.save`).
    # Those of a case once published stay plain (withdrawn: they were public, and the
    # erratum is checked by the build).
    sealed = None
    if not (case.status == "published" or case.status == "withdrawn"
            and case.meta.get("published")):
        from temoin.keys import vault

        sealed = vault.for_repo(Path(repo), keyring)
    return decisions.record(folder, kind, case.id, content_hash(case), editor, keyring, day,
                            payload, name, chain, seq, vault=sealed)


def _roster(repo: Path) -> tuple[str, ...]:
    """The editors' fingerprints: the latest trust statement's, else mkdocs.yml's (what
    `config.load` gives, without parsing mkdocs.yml when the trust root names them)."""
    from temoin import config

    payload = config.latest_trust_payload(repo)
    if payload is not None and isinstance(payload.get("editors"), list):
        return tuple(str(e.get("fingerprint") or "").replace(" ", "").upper()
                     for e in payload["editors"] if isinstance(e, dict))
    return config.load(repo).recipient_fingerprints


# -- the state machine (issue 4) ------------------------------------------------------------
# status -> {next status: the `temoin case` command that takes a case there}. `approve` also
# moves a draft into review (an approved draft is under review by definition); `publish` on a
# published case re-publishes it after a new verification and approval.
TRANSITIONS: dict[str, dict[str, str]] = {
    "draft": {"review": "review", "rejected": "reject", "withdrawn": "withdraw",
              "duplicate": "merge"},
    "review": {"published": "publish", "draft": "reopen", "rejected": "reject",
               "withdrawn": "withdraw", "duplicate": "merge"},
    "published": {"published": "publish", "withdrawn": "withdraw"},
    "rejected": {"draft": "reopen"},
    "withdrawn": {},
    "duplicate": {},
}
# Commands that change no status but only make sense while a case is being worked on.
WORKING_STATES = ("draft", "review", "published")


def next_steps(case: Case) -> list[str]:
    """The commands an editor may run next on `case`, e.g. ['temoin case publish ID', …]."""
    cmds = list(dict.fromkeys(TRANSITIONS.get(case.status, {}).values()))
    if case.status in WORKING_STATES:
        cmds = ["verify", "approve", *cmds]
    args = {"verify": " --level LEVEL", "merge": " INTO", "withdraw": " --reason TEXT",
            "reject": " --reason TEXT"}
    return [f"temoin case {c} {case.id}{args.get(c, '')}" for c in cmds]


def _refuse(case: Case, command: str) -> None:
    from temoin.errors import WorkflowError

    steps = next_steps(case)
    allowed = "; ".join(f"`{s}`" for s in steps) if steps else \
        f"none: {case.status} is final"
    raise WorkflowError(f"cases/{case.id}: cannot {command} a case that is {case.status}. "
                        f"Allowed next steps: {allowed}")


def check_transition(case: Case, target: str, command: str) -> None:
    """Raise WorkflowError (exit 1) naming the allowed next steps unless `command` may take
    `case` to `target`."""
    if TRANSITIONS.get(case.status, {}).get(target) != command:
        _refuse(case, command)


def check_working(case: Case, command: str) -> None:
    """Raise WorkflowError unless `case` is draft, review or published (verify, approve…)."""
    if case.status not in WORKING_STATES:
        _refuse(case, command)


def decision_valid(case: Case, decision: str, cfg: Config, verify: Verifier) -> bool:
    """Does `case` hold a good signed `decision` for its current content?"""
    review = case.meta.get("review") or {}
    expected = review.get(decision_field(decision)) if decision in DECISIONS else None
    return not check_decision(case, decision, expected, cfg.recipient_fingerprints, verify)


def waiting(case: Case, cfg: Config, verify: Verifier) -> tuple[str, str] | None:
    """What `case` waits for and from whom: ('verification' | 'approval' | 'publication',
    who), or None when nothing is pending (published and intact, or closed)."""
    if case.status not in WORKING_STATES:
        return None
    if not decision_valid(case, "verify", cfg, verify):
        return "verification", "any editor"
    verifier = (case.meta.get("review") or {}).get("verified_by") or ""
    if not decision_valid(case, "approve", cfg, verify):
        return "approval", f"an editor other than {cfg.editor_name(verifier)}"
    if case.status != "published" or not decision_valid(case, "risk-review", cfg, verify) \
            or not decision_valid(case, "publish", cfg, verify):
        return "publication", "any editor"
    return None


__all__ = ["CachedVerifier", "DECISIONS", "PUBLIC_CONSENTS", "QUOTE_WORDS", "REDO", "REVIEW",
           "SENSITIVE_CATEGORIES", "SIGNATURES", "SIGNED", "TRANSITIONS", "Verifier",
           "WORKFLOW_KEYS", "WORKING_STATES", "anonymisation_problems", "canonical",
           "check_decision", "check_transition", "check_working", "consent", "content_hash",
           "counts_in_statistics", "decision_field", "decision_paths", "decision_valid",
           "decisions", "editor_key_files", "gate_problems", "hand_edits", "judged", "next_steps",
           "partition", "precision", "private_leaks", "public_view", "quote_id", "record_decision",
           "record_statement",
           "release_problems", "signed", "signed_problems", "signed_withdrawal", "statement",
           "unacknowledged_quotes", "undone_withdrawal", "verbatim_quotes", "waiting",
           "withdrawn_cases"]
