"""`temoin status`: one screen of what is waiting — inbox, quarantine, cases, editors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import click

from temoin import cases as cases_mod
from temoin.cases import vocab
from temoin.cli.case import line, public_json
from temoin.cli.common import Context, pass_ctx
from temoin.curation import worklist
from temoin.intake import fetch_inbox

SHOWN = 5  # cases listed per queue; the count says how many more


def inbox_counts(repo: Path) -> tuple[int, int]:
    """(files waiting in inbox/ to be ingested, files in inbox/quarantine/)."""
    inbox = repo / "inbox"
    waiting = [p for p in inbox.iterdir() if not p.name.startswith(".") and not (
        p.name in ("quarantine", "processed") and p.is_dir())] if inbox.is_dir() else []
    return len(waiting), len(_quarantined(inbox / "quarantine"))


def _quarantined(qdir: Path) -> list[Path]:
    return [p for p in qdir.iterdir() if not p.name.endswith(".reason")
            and not p.name.startswith(".")] if qdir.is_dir() else []


def quarantine_usage(repo: Path) -> tuple[int, int]:
    """(bytes the quarantined files take on disk, messages fetch refused and left at their
    source: records in inbox/quarantine/ with no file beside them)."""
    qdir = repo / "inbox" / "quarantine"
    used = sum(p.lstat().st_size for p in _quarantined(qdir))
    left = sum(1 for p in qdir.glob("*.reason") if p.name.startswith(
        (fetch_inbox.OVERSIZE, fetch_inbox.REFUSED))) if qdir.is_dir() else 0
    return used, left


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def status(ctx: Context, as_json: bool) -> None:
    """One screen: inbox waiting, quarantine, cases by state, what waits for whom."""
    repo = ctx.repo
    inbox, quarantine = inbox_counts(repo)
    used, left = quarantine_usage(repo)
    all_cases, problems = cases_mod.load_all(repo, strict=False)
    by_state = Counter(c.status for c in all_cases)
    states = {s: by_state.get(s, 0) for s in vocab.terms("status")}
    queues = worklist.waiting(all_cases, ctx.config, repo)
    urgent = sum(1 for c in all_cases if c.meta.get("urgent") and c.status in
                 ("draft", "review"))
    if as_json:
        data: dict[str, Any] = {
            "inbox": inbox, "quarantine": quarantine, "quarantine_bytes": used,
            "refused_by_fetch": left, "cases": states,
            "unreadable_cases": len(problems), "urgent_open": urgent,
            "waiting": {q: [{**public_json(w.case, repo), "who": w.who} for w in items]
                        for q, items in queues.items()}}
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(f"Inbox: {inbox} file(s) waiting" + (" (run `temoin ingest`)" if inbox else "")
               + f"; quarantine: {quarantine}" + (f", {_size(used)} on disk (read "
                                                  "inbox/quarantine/*.reason)"
                                                  if quarantine else ""))
    if left:
        click.echo(f"Refused by fetch, left at their source: {left} (too large or sent by a "
                   "misbehaving server; read inbox/quarantine/*.reason)")
    click.echo("Cases: " + ", ".join(f"{n} {s}" for s, n in states.items()) +
               (f"; {urgent} urgent open" if urgent else ""))
    if problems:
        click.echo(f"Unreadable cases: {len(problems)} (run `temoin check`)")
    for q, items in queues.items():
        click.echo(f"Waiting for {q} ({len(items)}):")
        for w in items[:SHOWN]:
            click.echo(f"  {line(w.case)}  <- {w.who}")
        if len(items) > SHOWN:
            click.echo(f"  … and {len(items) - SHOWN} more (`temoin case list --waiting`)")


def _size(n: int) -> str:
    """Bytes for a person: 0 B, 812 kB, 31.5 MB."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}" if n < 100 * scale else f"{n // scale} {unit}"
    return f"{n} B"
