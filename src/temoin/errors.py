"""The whole error model: one hierarchy, one exit code per kind of failure.

The core raises these; the CLI lets click print them. Messages say what failed, where
(file, field) and what to run next. They never carry plaintext of a submission or of a
confidential part: only ids, paths, field names and hashes.
"""

from __future__ import annotations

import unicodedata

import click

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CRYPTO = 3
EXIT_GATE = 4


def escaped(text: str) -> str:
    """`text` with every control, format (bidi), surrogate or unassigned character but the
    newline and the tab written as an escape (\\x1b, \\u202e): what a server, a mailbox or a
    file put into a message cannot move the cursor, clear the screen or reorder the line."""
    return "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C" else
                   c.encode("unicode_escape").decode("ascii") for c in text)


class TemoinError(click.ClickException):
    """Root of every error Témoin raises on purpose. Its message is shown escaped: it may
    quote what a hostile server or file sent."""

    exit_code = EXIT_ERROR

    def format_message(self) -> str:
        return escaped(self.message)


class ConfigError(TemoinError):
    """mkdocs.yml or the environment does not hold valid settings."""


class RepoError(TemoinError):
    """No organisation repository where one was expected."""


class CaseError(TemoinError):
    """A case file is missing, malformed or breaks the schema."""


class ValidationError(CaseError):
    """Several problems found at once; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class WorkflowError(TemoinError):
    """An illegal curation step; the message names the allowed next steps."""


class CryptoError(TemoinError):
    """gpg failed, refused, or a key or signature is missing or bad."""

    exit_code = EXIT_CRYPTO


class IntakeError(TemoinError):
    """A submission cannot be ingested; it goes to quarantine with this reason."""


class ReceiptError(TemoinError):
    """A dossier receipt is malformed, oversize, or does not describe the dossier given."""


class LockError(TemoinError):
    """Another Témoin process holds the lock."""


class GateError(TemoinError):
    """A publication gate refused: nothing doubtful is published."""

    exit_code = EXIT_GATE

    def __init__(self, findings: list[str], what: str = "publication gate refused") -> None:
        self.findings = list(findings)
        body = "\n".join(f"  - {f}" for f in self.findings)
        super().__init__(f"{what}:\n{body}")
