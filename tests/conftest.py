"""Shared fixtures: real gpg in a throwaway 0700 GNUPGHOME, real organisation repos."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from temoin import keys
from temoin.keys import vault
from tests import report_fixtures
from tests.helpers import Org, make_org, stop_gpg

REPO_ROOT = Path(__file__).resolve().parent.parent
# Set in this process's environment, so every gpg the tests start (and the gpg-agent it
# spawns, which keeps gpg's environment) carries it: the session-end check finds the agents
# of this run, not those of another run on the same machine (each xdist worker has its own).
SESSION_MARK = "TEMOIN_TEST_SESSION"
SESSION_ID = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
os.environ[SESSION_MARK] = SESSION_ID


# GnuPG's daemons: gpg starts them on demand for a home (--homedir in their argv) and each
# outlives the gpg, the test and the run that started it.
DAEMONS = (b"gpg-agent", b"dirmngr", b"keyboxd")


@dataclass(frozen=True)
class Agent:
    """A running GnuPG daemon (gpg-agent, dirmngr, keyboxd): its pid, its --homedir, and the
    test session that started it."""

    pid: int
    home: Path
    session: str | None


def gpg_agents() -> list[Agent]:
    """Every GnuPG daemon on the machine (from /proc), with its home and session mark."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            if os.path.basename(argv[0]) not in DAEMONS or b"--homedir" not in argv:
                continue
            home = Path(os.fsdecode(argv[argv.index(b"--homedir") + 1]))
            env = Path(entry.path, "environ").read_bytes().split(b"\0")
        except (OSError, IndexError):  # gone meanwhile, or not ours to read
            continue
        mark = next((e.split(b"=", 1)[1].decode() for e in env
                     if e.startswith(SESSION_MARK.encode() + b"=")), None)
        found.append(Agent(int(entry.name), home, mark))
    return found


def kill_agents(agents: list[Agent]) -> None:
    """gpgconf --kill for each home, then SIGTERM (a deleted home has no socket left to ask
    through), then SIGKILL for any daemon still there after a second."""
    stop_gpg(*sorted({a.home for a in agents}))
    pids = {a.pid for a in agents}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        deadline = time.monotonic() + 1.0
        while pids and time.monotonic() < deadline:
            pids = {p for p in pids if _alive(p)}
            time.sleep(0.02)
        for p in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p, sig)


def _alive(pid: int) -> bool:
    try:  # a zombie has exited: its cmdline reads empty
        return bool(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return False


# The process state a test may change only through monkeypatch (undone after it) or pass
# explicitly (env= of a subprocess, --gnupghome, cwd=): left changed, it leaks into every later
# test of the worker (a session fixture that set GNUPGHOME once made later tests use the
# intake keyring).
GUARDED_PREFIXES = ("XDG_", "TEMOIN_")
GUARDED_NAMES = ("GNUPGHOME", "HOME")


@dataclass(frozen=True)
class ProcessState:
    """The guarded environment variables and the working folder of this process."""

    env: dict[str, str]
    cwd: str

    @classmethod
    def now(cls) -> ProcessState:
        return cls({k: v for k, v in os.environ.items()
                    if k in GUARDED_NAMES or k.startswith(GUARDED_PREFIXES)}, os.getcwd())

    def changes_from(self, before: ProcessState) -> list[str]:
        """What differs from `before`, one line each."""
        lines = [f"{k}: {before.env.get(k, '(unset)')} -> {self.env.get(k, '(unset)')}"
                 for k in sorted(before.env.keys() | self.env.keys())
                 if before.env.get(k) != self.env.get(k)]
        if before.cwd != self.cwd:
            lines.append(f"working folder: {before.cwd} -> {self.cwd}")
        return lines

    def restore(self) -> None:
        for k in ProcessState.now().env.keys() - self.env.keys():
            del os.environ[k]
        os.environ.update(self.env)
        os.chdir(self.cwd)


@pytest.fixture(scope="session", autouse=True)
def _session_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessState]:
    """Module- and session-scoped builds keep their caches under a temporary folder too,
    trust-root pins (keyed by each repository's random id) go to a throwaway config home,
    and the publication serials `verify-site` remembers to a throwaway state home. No
    GNUPGHOME: the developer's keyring is never used, and a test that wants one sets it.
    Yields the state every test must start and end with (`_process_state_unchanged`)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))
        mp.delenv("TEMOIN_NO_CACHE", raising=False)
        mp.delenv("GNUPGHOME", raising=False)
        yield ProcessState.now()


@pytest.fixture(autouse=True)
def _process_state_unchanged(_session_env: ProcessState) -> Iterator[None]:
    """Fail a test that starts or ends with GNUPGHOME, HOME, XDG_*, TEMOIN_* or the working
    folder other than the session set them: at its start, a module or session fixture it uses
    changed them (and would leave them changed for every later test on this worker); at its
    end, the test or one of its fixtures did without undoing it. It must be set up before,
    and so checked after, every function fixture that changes the environment: pytest sets
    up a file's autouse fixtures in the order of their names, so those here ask for it by
    name. The state is put back either way, so one leak fails one test, not the next ones."""
    def check(when: str, culprit: str) -> None:
        changed = ProcessState.now().changes_from(_session_env)
        if changed:
            _session_env.restore()
            pytest.fail(f"{when}, {culprit} changed the process state: " + "; ".join(changed)
                        + " (use monkeypatch.setenv/delenv/chdir in a function-scoped fixture,"
                        " or pass env=/cwd= to the subprocess)", pytrace=False)

    check("before the test", "a module or session fixture")
    yield
    check("after the test", "the test or one of its fixtures")


@pytest.fixture(autouse=True)
def _reproducible(_process_state_unchanged: None, monkeypatch: pytest.MonkeyPatch,
                  tmp_path: Path) -> None:
    """Builds in tests use a fixed SOURCE_DATE_EPOCH, never the editor's env, caches beside
    tmp_path (never the user's ~/.cache), and the serials `verify-site` remembers per site
    key under tmp_path (never ~/.local/state, never another test's: a serial one test
    verified would make the same key's site stale in the next)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1760000000")
    # Beside tmp_path, not in it: a test that takes tmp_path as its repository would find
    # its cache inside the repository, where none is used (`cache.Store.open`).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path.with_name(f"{tmp_path.name}-xdg-cache")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    for var in ("TEMOIN_EDITOR", "TEMOIN_PASSPHRASE_FILE", "TEMOIN_NO_CACHE"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def _agents_die_with_their_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A gpg-agent of any keyring made under the test's tmp_path is killed after the test
    (tests and helpers make keyrings freely; none has to remember to stop its agent)."""
    tmp = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    vault.forget()  # throwaway sealing keyrings of in-process commands (removed at exit too)
    if tmp is not None:
        kill_agents([a for a in gpg_agents() if a.home.is_relative_to(tmp)])


@pytest.fixture(scope="session", autouse=True)
def _no_agent_outlives_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the run if a gpg-agent this session started is alive at its end (module and
    session fixtures, `temoin demo`, anything under the session's temporary folders)."""
    yield
    base = tmp_path_factory.getbasetemp()
    def ours() -> list[Agent]:
        return [a for a in gpg_agents()
                if a.session == SESSION_ID or a.home.is_relative_to(base)]
    deadline = time.monotonic() + 2.0  # agents told to stop may take a moment to exit
    while (left := ours()) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        kill_agents(left)
        pytest.fail("gpg-agent still running after the tests, for: "
                    + ", ".join(str(a.home) for a in left)
                    + " (the fixture or helper that made that keyring must kill its agent)")


@pytest.fixture
def gnupghome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty 0700 GnuPG home set as $GNUPGHOME; its agent is killed afterwards."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("GNUPGHOME", str(home))
    yield home
    stop_gpg(home)


@pytest.fixture
def keyring(gnupghome: Path) -> keys.Keyring:
    """A Keyring on the throwaway GNUPGHOME."""
    return keys.Keyring(gnupghome)


@pytest.fixture(scope="session")
def _org_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The inbox's and two editors' ed25519/cv25519 keys, generated by gpg once per worker
    (three key generations and an agent start each: a second or more under load) in a home
    `fprs` copies from; its agent stopped."""
    home = tmp_path_factory.mktemp("org-keys") / "gnupg"
    kr = keys.Keyring(home)
    try:
        made = {"inbox": kr.generate("Inbox", "inbox@example.invalid"),
                "alice": kr.generate("Alice", "alice@example.invalid"),
                "bob": kr.generate("Bob", "bob@example.invalid")}
    finally:
        stop_gpg(home)
    return home, made


@pytest.fixture
def fprs(keyring: keys.Keyring, _org_keys: tuple[Path, dict[str, str]]) -> dict[str, str]:
    """The inbox's and two editors' (Alice, Bob) secret keys in this test's own GnuPG home:
    copies of one set per worker (files only, never the agent's sockets), so what a test
    does to its keyring stays in it; the repository, trust root and signatures a test makes
    with them are its own."""
    template, made = _org_keys
    shutil.copytree(template, keyring.home, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("S.*", "*.lock", ".#lk*", "random_seed"))
    return dict(made)


@pytest.fixture
def org(tmp_path: Path, keyring: keys.Keyring, fprs: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> Org:
    """A fresh organisation repo (temoin init) with inbox key and two editors configured."""
    o = make_org(tmp_path, keyring, fprs)
    monkeypatch.chdir(o.repo)
    return o


@pytest.fixture
def demo_gnupghome(gnupghome: Path) -> Path:
    """GNUPGHOME holding the demo-only secret keys of this repo's fictional data."""
    kr = keys.Keyring(gnupghome)
    for f in sorted((REPO_ROOT / "tests" / "fixtures" / "demo-keys").glob("*.sec.asc")):
        kr.import_keys(f.read_bytes())
    return gnupghome


# Fixtures wider than a test that cost nothing to make again on each xdist worker.
_CHEAP_SHARED = {"tmp_path_factory", "worker_id", "testrun_uid", "_no_agent_outlives_the_session",
                 "_session_env", "_org_keys"}


def _xdist_group(item: pytest.Item) -> str | None:
    """The xdist group of a test: tests sharing an expensive module or session fixture run
    on one worker (`-n auto --dist loadgroup`), so it is built once; others go anywhere.
    The generated report site (report_fixtures.built_site) and the demo site
    (demo_fixtures.demo_site), one build each per process, are shared across modules, and
    test_pdf reads both: all their readers are one group."""
    module = getattr(item, "module", None)
    if module is None:
        return None
    if any(v is report_fixtures or getattr(v, "__module__", None) == "tests.demo_fixtures"
           for v in vars(module).values()):
        return "report-site"
    info = getattr(item, "_fixtureinfo", None)
    for name in info.names_closure if info else ():
        defs = info.name2fixturedefs.get(name) or ()
        if name not in _CHEAP_SHARED and any(d.scope != "function" for d in defs):
            return module.__name__
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fail loudly (not skip) in CI when a system tool the suite needs is missing; put the
    tests that share an expensive fixture in one xdist group. First: pytest-xdist reads the
    groups in its own hook of the same name (making them part of the test ids it schedules
    by), which otherwise runs before this one and finds none."""
    if os.environ.get("CI") and not Path("/usr/bin/gpg").exists():
        raise pytest.UsageError("gpg missing: run `make test`, which installs it")
    for item in items:
        group = _xdist_group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
