"""One measured action, run by `run.py` in its own process (so its wall time and peak memory
are its own). Prints one JSON object on stdout.

    child.py build REPO SITE        temoin build (build.build, as the CLI does), with phases
    child.py pages REPO             the Markdown size of every page the build renders
    child.py preview REPO SITE ID   preview server's first build, then one case edited,
                                    re-verified and re-approved, and the rebuild timed
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path


def build(repo: Path, site: Path) -> dict[str, object]:
    from temoin import config, keys
    from temoin.publish import build as build_mod

    t = time.perf_counter()
    report = build_mod.build(repo, config.load(repo), site, keys.open_keyring())
    return {"wall_inside": time.perf_counter() - t, "phases": report.phases,
            "published": report.published, "aggregate": report.aggregate,
            "refused": len(report.refused), "signed": report.signed}


def pages(repo: Path) -> dict[str, object]:
    """Paths and Markdown lengths of what the build renders (for the bare-MkDocs baseline)."""
    from temoin import config
    from temoin.site import generate

    cfg = config.load(repo)
    inp = generate.collect(repo, cfg, None)
    out, _assets = generate.generate(inp)
    hand = [(str(p.relative_to(repo / "site_src")), len(p.read_text(encoding="utf-8")))
            for p in sorted((repo / "site_src").rglob("*.md"))
            if "overrides" not in p.parts and "bulletins" not in p.parts]
    return {"pages": [(p.path, len(p.content)) for p in out] + hand}


def preview(repo: Path, site: Path, case_id: str) -> dict[str, object]:
    """Time the preview's rebuild after an editor changes one published case."""
    from temoin import cases, config, curation, keys
    from temoin.site import preview as preview_mod

    cfg = config.load(repo)
    kr = keys.open_keyring()
    t = time.perf_counter()
    pv = preview_mod.Preview(repo, site)
    pv.build()
    first = time.perf_counter() - t
    case = cases.load(repo, case_id)
    def shown(c: cases.Case) -> bool:
        return c.status == "published" and c.meta.get("consent") in ("anonymised", "named")

    if not shown(case):  # edit a case the reader sees
        case = next(c for c in cases.load_all(repo)[0] if shown(c))
        case_id = case.id
    case.narrative += "\nUne précision ajoutée après un nouvel entretien.\n"
    day = dt.date(2025, 10, 20)
    alice, bob = cfg.recipient_fingerprints[:2]
    cases.save(repo, case)
    curation.record_decision(repo, case, "verify", alice, kr, day)
    curation.record_decision(repo, case, "approve", bob, kr, day)
    cases.save(repo, case)
    t = time.perf_counter()
    changed = pv.build()
    rebuild = time.perf_counter() - t
    page = site / "cases" / case_id / "index.html"
    visible = "nouvel entretien" in page.read_text(encoding="utf-8")
    return {"first": first, "rebuild": rebuild, "rendered": changed, "shown": visible}


def main() -> int:
    cmd, *args = sys.argv[1:]
    if cmd == "build":
        out = build(Path(args[0]), Path(args[1]))
    elif cmd == "pages":
        out = pages(Path(args[0]))
    elif cmd == "preview":
        out = preview(Path(args[0]), Path(args[1]), args[2])
    else:
        raise SystemExit(f"unknown action {cmd}")
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
