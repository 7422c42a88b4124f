"""`temoin serve` as a user runs it: a real server on a free local port, real `temoin`
commands beside it, rebuilds counted from the preview's own output lines."""

from __future__ import annotations

import datetime as dt
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from temoin.site import preview
from tests.helpers import Org

SRC = str(Path(__file__).resolve().parent.parent / "src")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Server:
    """A `temoin serve` process and the lines it printed so far."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "temoin", "--repo", str(repo), "serve", "--dev-addr",
             f"127.0.0.1:{_free_port()}"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=_env())
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 300) -> str:
        """The first new line holding `text` (the build under load can take minutes)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                assert self.proc.poll() is None, "\n".join(self.seen)
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} from temoin serve:\n" + "\n".join(self.seen))

    def drain(self) -> list[str]:
        while True:
            try:
                self.seen.append(self.lines.get_nowait())
            except queue.Empty:
                return self.seen

    def rebuilds(self) -> list[str]:
        return [ln for ln in self.drain() if ln.startswith(("Rebuilt", "Not rebuilt"))]


@pytest.fixture
def served(org: Org) -> Iterator[tuple[Org, Server]]:
    """`temoin serve` on a repo with one published case, stopped (by its pid) afterwards."""
    org.add_case(published=dt.date(2025, 10, 6))
    server = Server(org.repo)
    try:
        server.wait_for("Preview at")
        yield org, server
    finally:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


def test_preview_stays_idle_after_read_only_commands(served: tuple[Org, Server]):
    org, server = served
    for args in (["status"], ["case", "list"], ["case", "list", "--json"], ["check"]):
        subprocess.run([sys.executable, "-m", "temoin", "--repo", str(org.repo), *args],
                       capture_output=True, env=_env(), timeout=300)
    # Give the watcher time to report what it saw (a rebuild prints a line when it ends,
    # so a rebuild still running now would show in the count after the edit below).
    time.sleep(3)
    assert server.rebuilds() == [], server.seen
    # An edit still rebuilds, once: the preview only ignores what is not an input.
    case_md = next((org.repo / "cases").glob("*/case.md"))
    case_md.write_text(case_md.read_text().replace("Récit anonymisé.", "Récit relu."))
    server.wait_for("Rebuilt")
    time.sleep(3)
    assert len(server.rebuilds()) == 1, server.seen


def test_changes_outside_the_site_inputs_are_ignored():
    for rel in ("BI-2025-K7QX2M/.case.md.swp", "BI-2025-K7QX2M/case.md~", ".git/index",
                "BI-2025-K7QX2M/4913", "#case.md#", ".lock"):
        assert not preview.is_input(rel), rel
    for rel in ("BI-2025-K7QX2M/case.md", "BI-2025-K7QX2M/review/approve.json.asc",
                "editors/alice.asc", "mkdocs.yml"):
        assert preview.is_input(rel), rel
