#!/usr/bin/env python3
"""The canary and markup gates of two revisions over the same built site and the same
canaries must say the same, byte for byte: every normalised form of every text the canary
scan reads (`matching.forms`, piece by piece), what the matcher finds in it
(`guard.find`), and every markup report of every HTML page (`markup.check_html`). Run
after changing how the gates read text, to show the change kept every verdict.

    .venv/bin/python scripts/bench/same_verdicts.py 1000 --old main
    .venv/bin/python scripts/bench/same_verdicts.py 1000 --old main --pdf   # PDFs' texts too

Each revision runs in a process of its own (`git archive` of `--old`'s src/, this
checkout's src/): nothing of one is imported by the other. The canaries are those
`temoin build` hands the gates (`gates.py`'s `inputs`), made once. Besides the site, every
string constant of the attack, forms, gate and matching tests goes through `forms` and the
matcher as a file's text and as plain text (hostile inputs the site lacks).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TESTS = ROOT / "tests"
HOSTILE = ("test_attack_*.py", "test_forms*.py", "test_fold.py", "test_canary_forms.py",
           "test_precision.py", "test_gates*.py", "test_matching*.py", "test_canary_dismissal.py")


def _digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "surrogatepass")).hexdigest()[:20]


def test_strings() -> list[str]:
    """Every string constant of the hostile test files, one by one and each file's joined."""
    out: list[str] = []
    for pattern in HOSTILE:
        for path in sorted(TESTS.glob(pattern)):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
                       and isinstance(n.value, str) and n.value.strip()]
            out += [*strings, "\n".join(strings)]
    return out


def _collect(into: list[tuple[str, str]]) -> Callable[[str, str], None]:
    """A gate's `report` appending (gate, detail) to `into`."""
    return lambda gate, detail: into.append((gate, detail))


def dump(inputs: Path, site: Path, pdfs: bool, out: Path) -> None:
    """In the process of one revision: the digest of every form, finding and report."""
    from temoin.gates import guard, markup, matching
    from temoin.gates.extract import _texts

    given = pickle.loads(inputs.read_bytes())  # noqa: S301 - our parent wrote it
    m = guard.matcher(given["canaries"], given["forbidden_ids"])
    origin = markup.Origin(given["site_url"])
    got: dict[str, str] = {}
    for i, text in enumerate(json.loads((inputs.parent / "strings.json").read_text())):
        for is_markup in (True, False):
            got[f"string {i} {is_markup}"] = _digest(
                (list(matching.forms(text, is_markup)), sorted(map(repr, guard.find(
                    m, text, is_markup)))))
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if rel.lower().endswith(".pdf") and not pdfs:
            continue
        data = path.read_bytes()
        for j, (text, is_markup) in enumerate(_texts(path, rel, data)):
            forms = [list(matching.forms(piece, is_markup)) for piece in guard._pieces(text)]
            got[f"{rel} {j}"] = _digest((forms, sorted(map(repr, guard.find(m, text,
                                                                             is_markup)))))
        if rel.lower().endswith(".html"):
            reports: list[tuple[str, str]] = []
            refs = markup.check_html(data.decode("utf-8", "replace"), rel, origin,
                                     _collect(reports))
            got[f"{rel} html"] = _digest((reports, refs))
    out.write_text(json.dumps(got, sort_keys=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", type=int, help="benchmark size (repo-N and site-N)")
    ap.add_argument("--old", default="main", help="the revision to compare with")
    ap.add_argument("--pdf", action="store_true", help="the PDFs' texts too (slow)")
    ap.add_argument("--dump", nargs=3, metavar=("INPUTS", "SITE", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        dump(Path(args.dump[0]), Path(args.dump[1]), args.pdf, Path(args.dump[2]))
        return 0
    sys.path.insert(0, str(HERE))
    import gates
    import gen

    gen.isolate()
    repo, site = gen.OUT / f"repo-{args.size}", gen.OUT / f"site-{args.size}"
    with tempfile.TemporaryDirectory(prefix="same-verdicts-") as tmp:
        work = Path(tmp)
        (work / "inputs.pkl").write_bytes(pickle.dumps(gates.inputs(repo)))
        (work / "strings.json").write_text(json.dumps(test_strings()))
        old = work / "old"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.old, "src"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        results = []
        for name, src in (("old", old / "src"), ("new", ROOT / "src")):
            out = work / f"{name}.json"
            subprocess.run([sys.executable, __file__, str(args.size), *(["--pdf"] if args.pdf
                                                                        else []),
                            "--dump", str(work / "inputs.pkl"), str(site), str(out)],
                           check=True, env={**os.environ, "PYTHONPATH": str(src)})
            results.append(json.loads(out.read_text()))
    old_got, new_got = results
    differ = sorted(k for k in old_got.keys() | new_got.keys()
                    if old_got.get(k) != new_got.get(k))
    print(f"{len(old_got)} texts and pages compared, {len(differ)} differ")
    for k in differ[:20]:
        print("  differs:", k)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
