"""`temoin build`: MkDocs with the plugin into a scratch folder, then every gate, then the
signed manifest, and only then the site replaces the previous one. A failed gate leaves no
publishable site behind (the scratch folder is deleted, the old site is untouched)."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temoin import cache as cache_mod
from temoin import cases as cases_mod
from temoin import curation, gates, script_policy
from temoin.config import Config
from temoin.curation import canary_dismissal
from temoin.errors import CryptoError, GateError, TemoinError
from temoin.gates import canary_source
from temoin.progress import Progress
from temoin.publish import freshness, inputs, manifest
from temoin.site import submit
from temoin.site.engine import run_mkdocs, trim_heap

if TYPE_CHECKING:
    from temoin.keys import Keyring
    from temoin.site.generate import SiteInput


@dataclass
class Report:
    site_dir: Path
    published: int = 0
    aggregate: int = 0
    refused: dict[str, list[str]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    signed: bool = False
    notices: list[str] = field(default_factory=list)  # reported, not refused (`curate`)
    publication: freshness.Publication | None = None


@contextmanager
def _phase(report: Report, name: str, progress: Progress) -> Iterator[None]:
    start = time.perf_counter()
    try:
        with progress.phase(name):
            yield
    finally:
        report.phases[name] = report.phases.get(name, 0.0) + time.perf_counter() - start


def canaries(repo: Path, inp: SiteInput, keyring: Keyring) -> tuple[list[Any], bytes]:
    """Every private value of every case (any status), to grep the output for, and the
    canary cache's secret (keys the canary verdicts). Only the private parts that changed
    since the last build are decrypted (`canary_source`)."""
    return canary_source.canaries_and_secret(repo, [c.id for c in inp.all_cases], keyring,
                                            inp.cfg.recipient_fingerprints)


def marked_published_refused(inp: SiteInput) -> list[str]:
    """Each problem of each case whose case.md says published but that the gate refused."""
    status = {c.id: c.status for c in inp.all_cases}
    return [p for cid, problems in sorted(inp.refused.items())
            if status.get(cid) == "published" for p in problems]


def _mkdocs_phases(report: Report, timings: dict[str, float], total: float) -> None:
    """Split the MkDocs run into Témoin's steps (timed by the plugin) and the rest."""
    steps = {"load + validate cases": "load", "gate (signatures)": "gate",
             "generate pages": "generate", "CSP meta": "csp"}
    for name, key in steps.items():
        report.phases[name] = timings.get(key, 0.0)
    report.phases["MkDocs render"] = total - sum(timings.get(k, 0.0) for k in steps.values())


def build(repo: Path, cfg: Config, site_dir: Path | None = None,
          keyring: Keyring | None = None, allow_unpublished: bool = True,
          progress: Progress | None = None) -> Report:
    """`_build`, with SIGTERM and SIGHUP raising (`tmpfs.interruptible`): a build stopped
    by a signal wipes what it decrypted, as one stopped by Ctrl-C does."""
    from temoin import tmpfs

    with tmpfs.interruptible():
        return _build(repo, cfg, site_dir, keyring, allow_unpublished, progress)


def _build(repo: Path, cfg: Config, site_dir: Path | None = None,
           keyring: Keyring | None = None, allow_unpublished: bool = True,
           progress: Progress | None = None) -> Report:
    """Build, gate, sign, and swap the site into place. Raises GateError (exit 4).
    `progress` is told each phase (`temoin.progress`; nothing by default).

    With `allow_unpublished=False` (what `temoin build` does unless --allow-unpublished), a
    case marked `status: published` that fails the gate (hand-edited, changed after
    approval, a bad signature) stops the build instead of silently vanishing from the site."""
    repo = Path(repo)
    inputs.check(repo)  # no link or special file is ever read or copied (exit 4)
    target = Path(site_dir) if site_dir else repo / "site"
    target = target if target.is_absolute() else (Path.cwd() / target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".temoin-build-", dir=target.parent))
    report = Report(target)
    progress = progress or Progress.off()
    ahead: _Ahead | None = None

    def curate(loaded: SiteInput, keys: Keyring) -> tuple[gates.Curated, bytes]:
        return canary_source.curated(repo, loaded.all_cases, keys,
                                     loaded.cfg.recipient_fingerprints,
                                     gates.organisation_strings(cfg))

    def decrypt_ahead(loaded: SiteInput) -> None:
        # The private parts are decrypted and curated while pages are made and MkDocs
        # renders them: gpg and the curation on one core, MkDocs on the other (issue 18).
        nonlocal ahead
        if keyring is not None:
            ahead = _Ahead(curate, loaded, keyring)

    try:
        start = time.perf_counter()
        inp = run_mkdocs(repo, scratch, progress=progress, on_cases=decrypt_ahead)
        _mkdocs_phases(report, inp.timings, time.perf_counter() - start)
        report.published, report.aggregate = len(inp.published), len(inp.aggregate)
        report.refused = inp.refused
        if not allow_unpublished:
            marked = marked_published_refused(inp)
            if marked:
                raise GateError(marked, "cases marked published fail the publication gate "
                                "(re-verify and re-approve them, or build without them: "
                                "`temoin build --allow-unpublished`)")
        # Which publication this is (issue 20): derived from signed decisions only, so the
        # same repository gives the same bytes; listed in SHA256SUMS with every file.
        with curation.CachedVerifier(repo) as verify:
            report.publication = freshness.record(repo, cfg, verify)
        freshness.write(scratch, report.publication)
        digests: dict[str, str] = {}  # sha256 of every file, as the gates read it
        needs_key = any(cases_mod.private_path(repo, c.id).exists() for c in inp.all_cases)
        if keyring is None and needs_key:
            raise CryptoError("the build greps the output for every private value, so it "
                              "needs an editor key: set GNUPGHOME")
        with _phase(report, "decrypt private parts", progress):
            # Only reviewed private parts guard the whole site: a hostile submission
            # never stops publication of other cases (`gates.curate`, through the
            # canary cache: `canary_source.curated`).
            if ahead is not None:
                curated, secret = ahead.result()
            elif keyring:  # the plugin did not call `decrypt_ahead`: here, in turn
                curated, secret = curate(inp, keyring)
            else:
                curated, secret = gates.curate([], inp.all_cases,
                                               gates.organisation_strings(cfg)), b""
            report.notices = curated.notices
            # A name part an editor dismissed by a signed decision may stand where its
            # own case's public text names a public figure (`canary_dismissal`).
            with curation.CachedVerifier(repo) as verify:
                curated.guard = canary_dismissal.allow(repo, cfg, inp.all_cases,
                                                       curated.guard, keyring, verify)
        with _phase(report, "gates", progress):
            forbidden = inp.forbidden_ids
            allowed = script_policy.allowed_scripts(
                submit.generated_scripts(inp.cfg, inp.inbox_key))
            # The gates read the output, the canaries and these ids: not the cases, which
            # (with their texts) would otherwise stay in memory, and in every worker the
            # gates fork, for the longest phase of a first build (issue 18).
            del inp
            gc.collect()
            trim_heap()  # and hand the freed heap back before the workers fork
            store = cache_mod.Store.open(repo)
            findings = gates.run(
                scratch, canaries=curated.guard, site_url=cfg.site_url,
                forbidden_ids=forbidden,
                cache_dir=store.entries(gates.PDF_TEXT, ".json") if store else None,
                verdicts=store.file(gates.MARKUP_VERDICTS) if store else None,
                canary_verdicts=store.file(gates.CANARY_VERDICTS) if store else None,
                secret=secret, digests=digests, allowed_scripts=allowed)
        if findings:
            what = "publication gate refused"
            if any(f.gate == "canary" for f in findings):
                what += f" (a private value: remove it; {canary_dismissal.hint()})"
            raise GateError([f"[{f.gate}] {f.path}: {f.detail}" for f in findings], what)
        with _phase(report, "manifest", progress):
            signer = cfg.signing_key if keyring and cfg.signing_key and \
                keyring.has_secret(cfg.signing_key) else None
            manifest.write_manifest(scratch, keyring, signer, digests)
            report.signed = signer is not None
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
        scratch.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return report
    finally:
        if ahead is not None:
            ahead.close()
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


class _Ahead:
    """`fn(*args)` computed in a forked process while this one goes on; `result` waits for
    it and returns it, or raises what it raised. The child inherits `args` (no copy is
    sent) and sends back only the result. Where there is no fork, `result` calls `fn`."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._call: tuple[Callable[..., Any], tuple[Any, ...]] | None = (fn, args)
        self._proc: Any = None
        if "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            self._recv, send = ctx.Pipe(duplex=False)
            self._proc = ctx.Process(target=_ahead_child, args=(send, fn, args))
            self._proc.start()
            send.close()
            self._call = None

    def result(self) -> Any:
        if self._call is not None:
            fn, args = self._call
            self._call = None
            return fn(*args)
        try:
            kind, value, text = self._recv.recv()
        except EOFError:
            raise TemoinError(f"the process decrypting ahead stopped without an answer "
                              f"(exit code {self._proc.exitcode})") from None
        finally:
            self.close()
        if kind == "ok":
            return value
        try:
            error = pickle.loads(value)  # noqa: S301 - our own child's answer
        except Exception:  # noqa: BLE001 - an error not rebuilt here: its message
            raise TemoinError(text) from None
        raise error

    def close(self) -> None:
        """Wait for the child (the build stopped before it needed the result: the child's
        answer finds the pipe closed, and it has already removed what it decrypted)."""
        if self._proc is not None:
            self._recv.close()
            self._proc.join()
            if self._proc.exitcode != 0:
                # It died without its `finally` (SIGKILL, the OOM killer, a signal): its
                # gpg died with it (`batch`), its plaintext is wiped here, not left in RAM
                # for some later run (attack round 20).
                from temoin.keys import batch

                batch.wipe_dead()
            self._proc = None


def _ahead_child(send: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        answer = ("ok", fn(*args), "")
    except BaseException as exc:  # noqa: BLE001 - every error goes to the parent
        try:
            answer = ("error", pickle.dumps(exc), str(exc))
        except Exception:  # noqa: BLE001 - an error that cannot be pickled: its message
            answer = ("error", b"", f"{type(exc).__name__}: {exc}")
    with suppress(OSError):
        send.send(answer)
    send.close()
