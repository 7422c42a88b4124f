"""`temoin serve`: a local preview that rebuilds only what an edit changed.

MkDocs' own `serve` rebuilds the whole site on every change: at 20,000 cases that is a
minute or more per keystroke-save. The preview keeps one process alive and remembers, from
one build to the next:

* every case as loaded, with the stat (inode, size, mtime) of each file of its folder
  (case.md, review/, media/): only folders whose files changed are parsed again, and
  only the folders inotify names (`CaseWatch`) are stat'ed at all;
* every case's gate verdict (same key, plus the editor keys and settings): only changed
  cases are verified again; signatures still go through the signature cache; with it, the
  case's public view (`curation.public_view`), the same object from build to build, which
  is what `site.memo` keeps results by;
* every generated case page, by case: only changed cases are turned into pages again;
* the sha256 of every generated page and asset: MkDocs then runs in its `dirty` mode and
  renders and writes only the pages whose Markdown changed (the case's own page, the
  listing pages where it appears, the reports it counts in), plus the hand-written pages,
  which may show the latest cases; every other page keeps its file from the last build;
* the search index entries: the rebuilt pages' entries replace theirs, the rest stay;
* MkDocs' `File` (and `Page`) of every unchanged generated file (`State.file`);
* the sha256 of every case page the plugin writes outside MkDocs (a second language's,
  `State.outside`): only changed ones are written, and those no longer published removed.

What the preview shows is what `temoin build` would publish (same loader, same gate, same
generators, signatures verified); only the post-build gates and the signed manifest are
left to `temoin build`. Pages that disappear (a case withdrawn, unapproved by an edit) are
deleted from the preview at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temoin import cases as cases_mod
from temoin import curation
from temoin.cases import Case
from temoin.config import Config
from temoin.errors import CaseError, GateError, TemoinError, ValidationError
from temoin.progress import Progress
from temoin.site import Page, generate, pages
from temoin.site.casewatch import CaseWatch, Signature, folder_signature
from temoin.site.context import Generation
from temoin.site.memo import Memo
from temoin.site.sandbox import CompiledTemplates


@dataclass
class _Case:
    signature: Signature
    case: Case | None
    problems: list[str]
    leaks: list[str] = field(default_factory=list)
    verdict: tuple[str, list[str]] | None = None  # (settings key, release problems)
    view: Case | None = None  # its `public_view`, made under the verdict's settings key
    withdrawn: tuple[str, list[Case]] | None = None  # (settings key, its erratum)
    page: Page | None = None


def _leaks(case: Case) -> list[str]:
    return [f"cases/{case.id}/case.md: {k}: confidential key in the public file"
            for k in cases_mod.confidential_keys(case.meta)]


def _read_public(folder: Path, sig: Signature, repo: Path) -> _Case:
    """A published case's folder (its plaintext case.md), or the problems loading it."""
    try:
        case = cases_mod.load_file(folder / cases_mod.PUBLIC, repo)
    except ValidationError as exc:
        return _Case(sig, None, list(exc.problems))
    except CaseError as exc:
        return _Case(sig, None, [exc.message])
    return _Case(sig, case, [], _leaks(case))


@dataclass
class State:
    """What the preview remembers between two builds (one per `temoin serve` process)."""

    cases: dict[str, _Case] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)      # generated path -> sha256
    dests: dict[str, Any] = field(default_factory=dict)        # path -> MkDocs File
    dests_kept: dict[str, Any] = field(default_factory=dict)   # those `file` may reuse
    reuse: str = ""                                            # their settings (`begin`)
    contents: dict[str, str | bytes] = field(default_factory=dict)  # path -> content
    search: list[dict[str, Any]] | None = None                 # search index entries
    rendered: set[str] = field(default_factory=set)            # page URLs this build
    previous: dict[str, str] = field(default_factory=dict)     # digests of the last build
    previous_contents: dict[str, str | bytes] = field(default_factory=dict)
    outside: dict[str, bytes] = field(default_factory=dict)    # plugin-written -> sha256
    ready: bool = False                                        # MkDocs may write files
    loaded: int = 0                                            # cases parsed this build
    verified: int = 0                                          # gate verdicts this build
    memo: Memo = field(default_factory=Memo)                   # reports' parts (site.memo)
    watch: CaseWatch = field(default_factory=CaseWatch)        # case folders edited
    sitemap: dict[str, Any] = field(default_factory=dict)      # `search.write_sitemap`'s
    templates: CompiledTemplates = field(default_factory=CompiledTemplates)  # Jinja's code

    # -- cases and the gate ------------------------------------------------------------
    def collect(self, repo: Path, cfg: Config,
                verify: curation.Verifier | None) -> generate.SiteInput:
        """`generate.collect`, parsing and gating only the case folders that changed."""
        root = Path(repo) / cases_mod.CASES
        top = str(root)
        touched = self.watch.changed() if self.cases and self.watch.top == top else None
        if touched is None:  # look at every folder (watching each before reading it)
            self.watch.start(root)
            names = sorted(e.name for e in os.scandir(root) if e.is_dir()) \
                if root.is_dir() else []
        else:  # only folders inotify named: the others have the same files as last build
            names = sorted(n for n in self.cases.keys() | touched
                           if n not in touched or os.path.isdir(f"{top}/{n}"))
        self.loaded = self.verified = 0
        fresh: dict[str, _Case] = {}
        sealed: dict[Path, Signature] = {}  # unpublished: decrypted together below
        for name in names:
            old = self.cases.get(name)
            if touched is not None and name not in touched and old is not None:
                fresh[name] = old
                continue
            self.watch.watch(name)
            sig = folder_signature(f"{top}/{name}")
            if old is not None and old.signature == sig:
                fresh[name] = old
                continue
            folder = root / name
            if not (folder / cases_mod.PUBLIC).is_file():
                if (folder / cases_mod.SEALED).is_file():  # as `cases.load_all` reads it
                    sealed[folder] = sig
                continue
            self.loaded += 1
            fresh[name] = _read_public(folder, sig, Path(repo))
        for folder, sealed_case, found in cases_mod.load_sealed(Path(repo), list(sealed)):
            self.loaded += 1
            fresh[folder.name] = _Case(sealed[folder], sealed_case, found,
                                       _leaks(sealed_case) if sealed_case else [])
        self.cases = fresh
        self.watch.done(touched if touched is not None else set(names))
        problems = [p for e in fresh.values() for p in e.problems]
        if problems:
            raise GateError(problems, "cases that do not load stop the build")
        leaks = [p for e in fresh.values() for p in e.leaks]
        if leaks:
            raise GateError(leaks)
        key = _settings_key(repo, cfg, verify is not None)
        published, aggregate, refused = self._gate(key, cfg, verify)
        entries = sorted(((e.case, e) for e in fresh.values() if e.case),
                         key=lambda ce: ce[0].id)
        all_cases = [c for c, _e in entries]
        withdrawn = [w for c, e in entries if c.status == "withdrawn"
                     for w in self._withdrawn(e, key, cfg, verify)]
        key_file = Path(repo) / "keys" / "inbox.asc"
        return generate.SiteInput(cfg, sorted(published, key=lambda c: c.id),
                                  sorted(aggregate, key=lambda c: c.id), withdrawn, refused,
                                  all_cases, key_file.read_text() if key_file.is_file()
                                  else "", cfg.inbox_key)

    def _gate(self, key: str, cfg: Config, verify: curation.Verifier | None
              ) -> tuple[list[Case], list[Case], dict[str, list[str]]]:
        """(published, aggregate-only, refused) of the loaded cases, each case's verdict
        and public view made again only when its folder or `key` changed."""
        published, aggregate, refused = [], [], {}
        for entry in self.cases.values():
            if entry.case is None:
                continue
            case = entry.case
            if entry.verdict is None or entry.verdict[0] != key:
                self.verified += 1
                entry.verdict = (key, curation.release_problems(case, cfg, verify))
                entry.view = entry.page = None
            if entry.verdict[1]:
                refused[case.id] = entry.verdict[1]
                continue
            # The public view reads the same signed decisions as the verdict, under the
            # same key: kept with it, the very same object build after build, so what the
            # memo keeps by identity (pages, records, bulletins) is found again.
            if entry.view is None:
                entry.view = curation.public_view(case, cfg, verify)
            if case.meta.get("consent") == "aggregate_only":
                aggregate.append(entry.view)
            else:
                published.append(entry.view)
        return published, aggregate, refused

    @staticmethod
    def _withdrawn(entry: _Case, key: str, cfg: Config, verify: curation.Verifier | None
                   ) -> list[Case]:
        """`curation.withdrawn_cases` of a withdrawn case, made again only when its folder
        or `key` changed: the erratum's `Case` is then the same object build after build,
        so the bulletins that show it stay in the memo (a new object each build made every
        bulletin with an erratum again on every rebuild)."""
        assert entry.case is not None
        if entry.withdrawn is None or entry.withdrawn[0] != key:
            entry.withdrawn = (key, curation.withdrawn_cases([entry.case], cfg, verify))
        return entry.withdrawn[1]

    def case_page(self, case: Case, cfg: Config, *, gen: Generation | None = None) -> Page:
        """`pages.case_page`, remembered for as long as the case folder does not change."""
        entry = self.cases.get(case.folder.name)
        if entry is None or (entry.view or entry.case) is not case:
            return pages.case_page(case, cfg, gen=gen)
        if entry.page is None:
            entry.page = pages.case_page(case, cfg, gen=gen)
        return entry.page

    # -- what changed ----------------------------------------------------------------
    def begin(self, reuse: str = "") -> None:
        """A build starts; `reuse`: the settings MkDocs' `File`s and `Page`s were made
        with (`file` keeps last build's only while they are the same)."""
        if reuse != self.reuse:
            self.reuse, self.dests_kept = reuse, {}
        else:
            self.dests_kept = self.dests
        self.previous, self.digests, self.rendered = self.digests, {}, set()
        self.previous_contents, self.contents = self.contents, {}
        self.ready = False

    def file(self, path: str, content: str | bytes, make: Callable[[], Any]) -> Any:
        """The MkDocs `File` of a generated file: last build's object when its content is
        the same (with its `Page` and inclusion, which MkDocs would otherwise make again
        for each of 20,000 pages, to skip it), else a new one from `make()`."""
        same = self.unchanged(path, content)
        f = self.dests_kept.get(path) if same else None
        if f is None:
            f = make()
        f.unchanged = same
        return f

    def failed(self) -> None:
        """A build stopped. Before MkDocs wrote anything the site is still the last
        build's; after, any file may be new or old: the next build writes them all."""
        if self.ready:
            self.digests, self.contents, self.reuse = {}, {}, ""
        else:
            self.digests, self.contents = self.previous, self.previous_contents

    def unchanged(self, path: str, content: str | bytes) -> bool:
        """Record a generated file's digest; True if it is the same as last build's.
        Content the memo kept (the very same object as last build's) is not hashed again."""
        self.contents[path] = content
        if self.previous_contents.get(path) is content and path in self.previous:
            self.digests[path] = self.previous[path]
            return True
        data = content.encode("utf-8") if isinstance(content, str) else content
        digest = hashlib.sha256(data).hexdigest()
        self.digests[path] = digest
        return self.previous.get(path) == digest

    def finish(self, site_dir: Path, dests: dict[str, Any]) -> None:
        """Delete what the last build wrote and this one no longer generates; merge the
        search index of the pages rendered now into the one kept from before. `dests`:
        the generated MkDocs `File`s by path (their output path is worked out only for the
        few that disappear)."""
        gone = set()
        for path in self.dests.keys() - dests.keys():
            out, url = Path(self.dests[path].abs_dest_path), self.dests[path].url
            gone.add(url)
            out.unlink(missing_ok=True)
            if out.name == "index.html" and out.parent != site_dir:
                shutil.rmtree(out.parent, ignore_errors=True)
        self.dests = dests
        index = site_dir / "search" / "search_index.json"
        if not index.is_file():
            return
        doc = json.loads(index.read_text(encoding="utf-8"))
        if self.search is not None:
            stale = self.rendered | gone
            kept = [e for e in self.search if e["location"].split("#", 1)[0] not in stale]
            doc["docs"] = kept + doc["docs"]
            index.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":"),
                                        default=str), encoding="utf-8")
        self.search = doc["docs"]


def _settings_key(repo: Path, cfg: Config, signatures: bool) -> str:
    """Everything a gate verdict depends on besides the case folder: the settings, the
    editors' key files, the trust root's statements (the roster and the root decisions
    name), and the hour (keys and signatures expire: every verdict is made again at least
    once an hour), and the withdrawals this machine remembers (another clone's build
    adds to them)."""
    from temoin.trust import withdrawn_file
    from temoin.trust.statements import chain_files, signature_files

    h = hashlib.sha256(repr((cfg, signatures, int(time.time() // 3600))).encode())
    chain = [g for f in chain_files(repo) for g in (f, *signature_files(f))]
    for f in [*curation.editor_key_files(repo), *chain]:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    # The withdrawals this machine remembers are shared by the repository's clones: a
    # build of another clone changes them while this case folder stays the same (attack18).
    # (The decision heads' memory is written by every build that sees a new decision, at
    # its end: keyed by it, every verdict would be made twice; left out.)
    memory = withdrawn_file(repo)
    if memory is not None:
        with contextlib.suppress(OSError):
            h.update(b"\0withdrawn\0" + memory.read_bytes())
    return h.hexdigest()


class Preview:
    """A preview site in `site_dir`, rebuilt incrementally by `build()`."""

    def __init__(self, repo: Path, site_dir: Path, verify_signatures: bool = True) -> None:
        self.repo, self.site_dir = Path(repo), Path(site_dir)
        self.verify_signatures = verify_signatures
        self.state = State()
        self.built = False

    def build(self, progress: Progress | None = None) -> int:
        """Build (the first time) or rebuild what changed; return how many pages were
        rendered. Raises TemoinError like `temoin build` when the generator refuses.
        `progress`: where to report the build's phases (the first build is long)."""
        from mkdocs.commands import build as mk_build
        from mkdocs.exceptions import Abort, PluginError

        from temoin.site.engine import mkdocs_config, with_progress

        cfg = mkdocs_config(self.repo, self.site_dir)
        with_progress(cfg, progress)
        plugin = cfg.plugins.get("temoin")
        if plugin is None:
            raise TemoinError("mkdocs.yml: the temoin plugin is not enabled")
        plugin.verify_signatures = self.verify_signatures
        plugin.preview = self.state
        logging.getLogger("mkdocs").setLevel(logging.ERROR)  # dirty builds warn each time
        try:
            try:  # the plugin hands `state.memo` to the build's `Generation`
                mk_build.build(cfg, dirty=self.built)
            except BaseException:
                self.state.memo.abort()
                self.state.failed()
                raise
            self.state.memo.finish()
        except PluginError as exc:
            raise GateError([str(exc)], "the site generator refused") from exc
        except Abort as exc:
            raise TemoinError(f"mkdocs build failed: {exc}") from exc
        self.built = True
        return len(self.state.rendered)


# What the preview rebuilds on: a file written, created, deleted or renamed. Not a file
# opened or closed unwritten: watchdog (4+) reports every read, so `temoin status` reading
# 140 case files, or the preview's own build reading them, asked for another build, and the
# preview rebuilt in a loop (issue 17: 16 s of CPU in 20 idle seconds).
def _input_events() -> list[type[Any]]:
    from watchdog import events as ev

    return [ev.FileCreatedEvent, ev.FileModifiedEvent, ev.FileDeletedEvent,
            ev.FileMovedEvent, ev.FileClosedEvent]


def is_input(rel: str) -> bool:
    """Whether a change to `rel` (a path below a watched folder) can change the site: not
    in a hidden folder or file (editor swap files, `.git`, lock files), nor an editor's
    backup or probe file (`x~`, `#x#`, vim's 4913)."""
    parts = [p for p in rel.split(os.sep) if p]
    name = parts[-1] if parts else ""
    return not (any(p.startswith(".") for p in parts) or name.startswith("#")
                or name.endswith(("~", ".swp", ".swx", ".tmp")) or name == "4913")


def _observer() -> Any:
    """A watchdog observer (inotify on Linux) that passes on only `_input_events` on
    `is_input` files to the handlers MkDocs' live-reload server schedules."""
    from watchdog.events import FileSystemEvent, FileSystemEventHandler
    from watchdog.observers import Observer

    class Inputs(FileSystemEventHandler):
        def __init__(self, inner: FileSystemEventHandler, root: str) -> None:
            self.inner, self.root = inner, root

        def dispatch(self, event: FileSystemEvent) -> None:
            paths = [os.fsdecode(p) for p in (event.src_path, event.dest_path) if p]
            if any(is_input(os.path.relpath(p, self.root)) for p in paths):
                self.inner.dispatch(event)

    class InputObserver(Observer):  # type: ignore[misc,valid-type]  # a platform alias
        def schedule(self, event_handler: FileSystemEventHandler, path: str, *,
                     recursive: bool = False, event_filter: Any = None) -> Any:
            root = path if os.path.isdir(path) else os.path.dirname(path)
            return super().schedule(Inputs(event_handler, root), path, recursive=recursive,
                                    event_filter=event_filter or _input_events())

    return InputObserver()


def serve(repo: Path, dev_addr: str = "127.0.0.1:8000",
          echo: Callable[[str], None] = print) -> None:
    """Build once, serve the preview with live reload, rebuild what changes on each edit.
    `echo` receives one line per build (errors included: the server keeps running)."""
    import tempfile

    from mkdocs.livereload import LiveReloadServer

    host, _, port = dev_addr.rpartition(":")
    site_dir = Path(tempfile.mkdtemp(prefix="temoin-preview-"))
    preview = Preview(repo, site_dir)

    def builder() -> None:
        start = time.perf_counter()
        try:
            n = preview.build()
            echo(f"Rebuilt {n} page(s) in {time.perf_counter() - start:.1f} s")
        except TemoinError as exc:
            echo(f"Not rebuilt: {exc.message}")

    try:
        preview.build(Progress.for_cli())
        server = LiveReloadServer(builder=builder, host=host or "127.0.0.1", port=int(port),
                                  root=str(site_dir))
        # Polling 20,000 case folders twice a second would keep a core busy: inotify,
        # changes to inputs only (`_observer`).
        server.observer = _observer()
        for path in (repo / "cases", repo / "site_src", repo / "mkdocs.yml", repo / "keys"):
            if path.exists():
                server.watch(str(path))
        echo(f"Preview at http://{host or '127.0.0.1'}:{port}/ (Ctrl-C to stop)")
        try:
            server.serve()  # type: ignore[no-untyped-call]  # mkdocs' LiveReloadServer is untyped
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
