"""A real pseudo-terminal for commands that ask questions (prompts, hidden passphrases).

`converse` runs a command with a pty as its stdin, stdout and stderr, waits for each prompt
to show and types the answer, as a person would. What it returns is what the person saw:
a hidden answer that appears in it was echoed."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.conftest import REPO_ROOT


def temoin_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "temoin", *args]


def temoin_env(**extra: str) -> dict[str, str]:
    """This process's environment, running this checkout's `temoin`."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "src"), "TERM": "dumb", **extra}
    return env


def converse(argv: Sequence[str], answers: Sequence[tuple[str, str]], env: Mapping[str, str],
             cwd: Path | None = None, timeout: float = 120.0) -> tuple[int, str]:
    """Run `argv` on a pseudo-terminal; for each (prompt, answer), wait until `prompt` has
    been shown, then type `answer` and Enter. (exit code, everything shown)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=dict(env),
                            cwd=cwd, start_new_session=True)
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + timeout

    def read(until: str | None, start: int = 0) -> None:
        """Read until `until` shows after `start` (None: until the command ends)."""
        while until is None or until.encode() not in shown[start:]:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                raise AssertionError(f"waited for {until!r}; the terminal showed:\n"
                                     + shown.decode("utf-8", "replace"))
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the command ended and closed the terminal
                data = b""
            if not data:
                if until is None:
                    return
                raise AssertionError(f"ended before showing {until!r}:\n"
                                     + shown.decode("utf-8", "replace"))
            shown.extend(data)

    try:
        start = 0
        for prompt, answer in answers:
            read(prompt, start)
            start = len(shown)  # the next prompt is looked for after this answer
            os.write(master, answer.encode("utf-8") + b"\n")
        read(None)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, shown.decode("utf-8", "replace")
