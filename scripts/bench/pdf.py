"""What a bulletin PDF costs, per bulletin, per page and per font, before and after a change.

    python scripts/bench/pdf.py [--before main] [-n 200] [--rounds 3]

"before" is Témoin's source at a git revision (`git archive` into a temporary folder),
"after" this working tree. Each round measures both, one after the other, each in its
own process (`--child`): the same documents, CPU time of the drawing process only (the
machine is shared: wall time is not comparable between runs). Medians are printed with
the ratio after/before.

Documents: the real bulletins (`bulletins.doc.document`, French and English) of the
`smallorg.case_fields` cases, kept in memory (no repository, no signatures: only the
documents matter here), and paragraphs of 1 to 8 pages (the slope is the cost of a page
of text, the intercept what a document costs before its first line; each the fastest of
3). Per font: what
registering the two fonts (`add_font`) and embedding their subsets (fpdf2's `output`,
timed through its `OutputProducer._add_fonts`) cost a document. Per bulletin read back by
the post-build gate (`gates.extract._poppler`, uncached): CPU of the gate's process and of
poppler's processes, and how many processes it starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MADE = dt.datetime(2025, 10, 12, tzinfo=dt.UTC)
ORG = "SOS-Banc d'essai"


def bulletins(n: int) -> list[Any]:
    """The documents of every bulletin (fr and en) of `n` cases over 40 weeks of 2025."""
    import smallorg
    from tests.helpers import base_meta

    from temoin import cases, config, scaffold
    from temoin.site.bulletins import make_plan
    from temoin.site.bulletins.doc import document, editorials

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "org"
        scaffold.init(repo, ORG, "BI", git=False)
        cfg = config.load(repo)
        texts = editorials(cfg)
    counted, aggregate = [], []
    for i in range(n):
        status, overrides, narrative, _private = smallorg.case_fields(i)
        if status == "published":
            meta = base_meta(f"smallorg-{i}".encode(), status=status, **overrides)
            meta["review"] = {"verified_by": "A" * 40, "approved_by": "B" * 40}
            case = cases.Case(meta, narrative)
            (aggregate if meta["consent"] == "aggregate_only" else counted).append(case)
    plan = make_plan(cfg, counted, aggregate, [])
    return [document(b, plan, lang, cfg, texts) for lang in cfg.languages
            for b in plan.bulletins]


def cpu(fn: Callable[[], object]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def child(n: int) -> dict[str, Any]:
    """Every figure, measured once with the `temoin` on sys.path."""
    import fpdf.fpdf
    import fpdf.output

    from temoin.site import blocks
    from temoin.site.bulletins import pdf

    spent = {"register": 0.0, "embed": 0.0}

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - start
        return wrapper

    fpdf.output.OutputProducer._add_fonts = timed(
        "embed", fpdf.output.OutputProducer._add_fonts)
    fpdf.fpdf.FPDF.add_font = timed("register", fpdf.fpdf.FPDF.add_font)
    try:
        from temoin.site.bulletins import embed
    except ImportError:  # before the fonts were embedded without fpdf2's subsetting
        pass
    else:
        made = embed.producer()
        made._add_fonts = timed("embed", made._add_fonts)
    if hasattr(pdf.Fonts, "add_to"):
        pdf.Fonts.add_to = timed("register", pdf.Fonts.add_to)

    docs = bulletins(n)
    out: dict[str, Any] = {}
    out["subset"] = cpu(lambda: pdf.Fonts().__enter__().__exit__(None, None, None)) * 1000
    with pdf.Fonts() as fonts:
        def draw(d: Any) -> bytes:
            return pdf.render(d, fonts, ORG, MADE)

        draw(docs[0])  # fpdf2's imports, the parsed fonts: once a build, not counted
        for k in spent:
            spent[k] = 0.0
        made: list[bytes] = []
        out["bulletin"] = cpu(lambda: made.extend(draw(d) for d in docs)) * 1000 / len(docs)
        out["register"] = spent["register"] * 1000 / len(docs)
        out["embed"] = spent["embed"] * 1000 / len(docs)
        out["bulletins"] = len(docs)
        out["pages"] = sum(d.count(b"/Type /Page\n") for d in made)
        out["kb"] = sum(map(len, made)) / len(made) / 1024
        xs, ys = [], []
        for k in (1, 2, 4, 8):
            doc = blocks.Doc(f"Bulletin n° {k}", "fr", [blocks.Para((
                "Arrestation arbitraire à Gitega, détention au secret. " * 64 * k,))])
            xs.append(draw(doc).count(b"/Type /Page\n"))
            ys.append(min(cpu(lambda doc=doc: draw(doc)) * 1000 for _ in range(3)))
        fit = statistics.linear_regression(xs, ys)
        out["page"], out["document"] = fit.slope, fit.intercept
        one = blocks.Doc("Bulletin", "fr", [blocks.Para(("Une ligne.",))])
        out["one-line"] = cpu(lambda: [draw(one) for _ in range(40)]) * 1000 / 40
    out.update(gate(made[:GATED]))
    return out


GATED = 40  # bulletins read back as the post-build gate reads them


def gate(made: list[bytes]) -> dict[str, float]:
    """What the gate's reading of a PDF costs (`extract._poppler`, no cache: poppler's
    processes and qpdf's strings), CPU of this process and of the children it waited for,
    and how many processes it started, a bulletin."""
    from temoin.gates import extract

    started = 0
    run = subprocess.run

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal started
        started += 1
        return run(*args, **kwargs)

    extract.subprocess.run = counted  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(prefix="temoin-pdfbench-gate-") as tmp:
        paths = []
        for i, data in enumerate(made):
            paths.append(Path(tmp) / f"b{i}.pdf")
            paths[-1].write_bytes(data)
        before = os.times()
        for path, data in zip(paths, made, strict=True):
            extract._poppler(path, data, None)
        after = os.times()
    extract.subprocess.run = run  # type: ignore[attr-defined]
    own = (after.user + after.system) - (before.user + before.system)
    kids = (after.children_user + after.children_system) - \
        (before.children_user + before.children_system)
    return {"gate": (own + kids) * 1000 / len(made), "gate-own": own * 1000 / len(made),
            "gate-procs": started / len(made)}


ROWS = [("bulletin", "ms a bulletin (real documents)"),
        ("page", "ms a page of text (slope)"),
        ("document", "ms a document besides (intercept)"),
        ("one-line", "ms a one-line document"),
        ("register", "ms a document: register 2 fonts"),
        ("embed", "ms a document: embed 2 font subsets"),
        ("subset", "ms a build: DejaVu subset"),
        ("kb", "KB a bulletin PDF"),
        ("gate", "ms a bulletin read by the gate"),
        ("gate-own", "ms of it in the gate's own process"),
        ("gate-procs", "processes a bulletin read by the gate")]


def source_at(rev: str, into: Path) -> Path:
    """Témoin's src/ and tests/helpers.py at `rev`, extracted into `into`."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "src",
                           "tests/__init__.py", "tests/helpers.py"],
                          check=True, capture_output=True).stdout
    archive = into / "src.tar"
    archive.write_bytes(data)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def run_child(tree: Path, n: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree / "src"), str(tree),
                                                         str(HERE)])}
    p = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "-n", str(n)],
                       env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(p.stdout.strip().splitlines()[-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="main", help="git revision (default main)")
    ap.add_argument("-n", type=int, default=200, help="cases (default 200)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.n)))
        return 0
    with tempfile.TemporaryDirectory(prefix="temoin-pdfbench-") as tmp:
        trees = {"before": source_at(args.before, Path(tmp)), "after": ROOT}
        got: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                got[name].append(run_child(tree, args.n))
    first = got["after"][0]
    print(f"{first['bulletins']} bulletins (fr + en) of {args.n} cases, {first['pages']} pages; "
          f"before = {args.before}, after = working tree; medians of {args.rounds} rounds, "
          "CPU time")
    print(f"{'':38} {'before':>9} {'after':>9}  after/before")
    for key, label in ROWS:
        b = statistics.median(r[key] for r in got["before"])
        a = statistics.median(r[key] for r in got["after"])
        ratio = f"{a / b:5.2f}" if b else "    -"
        print(f"{label:38} {b:9.2f} {a:9.2f}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
