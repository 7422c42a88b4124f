"""Freshness (issue 20, item 2): which publication a site is, and whether it is the newest.

After a case was withdrawn to protect someone, a mirror could keep serving the earlier
copy, signed and intact, with the case on it. So every built site carries its publication
record, `publication.json`, listed in the signed SHA256SUMS like any file:

    {"format": "temoin-publication/1", "serial": 41, "date": "2025-10-05"}

- The **serial** is derived from signed inputs only, so a build stays reproducible (same
  repository, same bytes): the number of trust-root statements plus the number of signed
  decisions with a public effect (`PUBLIC_KINDS`) that count — a good signature by an editor
  of the trust root, about the case of its folder. Decisions are only ever added (a
  withdrawal adds one), so the serial never goes down; re-signing a decision in place (an
  update) keeps it, and moves the date.
- The **date** is the newest of those statements' dates (days).
- `verify-site` refuses a site whose serial is below the newest it knows: the repository's
  own record (the same derivation), `--min-serial`, and the highest serial it has verified
  before for the same site key, remembered outside the repository
  (`$XDG_STATE_HOME/temoin/seen/<fingerprint>.json`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temoin.config import trust_document, trust_statements
from temoin.curation import decisions

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.curation.decisions import Verifier

RECORD = "publication.json"
FORMAT = "temoin-publication/1"
PUBLIC_KINDS = ("publish", "withdraw", "urgent", "interventions")


@dataclass(frozen=True)
class Publication:
    serial: int
    date: str  # YYYY-MM-DD

    def data(self) -> bytes:
        """The bytes of `publication.json` (canonical: the same record, the same bytes)."""
        doc = {"format": FORMAT, "serial": self.serial, "date": self.date}
        return json.dumps(doc, sort_keys=True).encode("ascii") + b"\n"

    def __str__(self) -> str:
        return f"publication {self.serial} of {self.date}"


def _trust_statements(repo: Path) -> list[dict[str, object]]:
    """The trust chain's statements: exactly the files `trust.verify_chain` verifies
    (`config.trust_statements`), which `trust.require` checked before any command that
    builds or verifies runs this. Any other file in trust/ (a glob once counted
    `0000-x.json`) is nobody's signed statement and counts for nothing."""
    out = []
    for p in trust_statements(Path(repo)):
        try:
            doc = trust_document(p.read_bytes())
        except OSError:
            doc = None
        if doc is not None:  # else not a statement: `trust.require` refuses the chain
            out.append(doc)
    return out


def record(repo: Path, cfg: Config, verify: Verifier) -> Publication:
    """The publication record the repository's signed state implies."""
    repo = Path(repo)
    statements = _trust_statements(repo)
    serial = len(statements)
    days = [str(s.get("date") or "")[:10] for s in statements]
    roster = cfg.recipient_fingerprints
    cases_dir = repo / "cases"
    for folder in sorted(cases_dir.iterdir()) if cases_dir.is_dir() else []:
        review = folder / decisions.FOLDER
        for kind in PUBLIC_KINDS:
            data_path, sig_path = decisions.paths(review, kind)
            if not (data_path.is_file() and sig_path.is_file()):
                continue
            data = data_path.read_bytes()
            d, problems = decisions.judge(data, verify(data, sig_path.read_bytes()), kind,
                                          folder.name, str(data_path), None, roster, "",
                                          decisions.root_of(review))
            if d is not None and not problems:
                serial += 1
                days.append(d.date[:10])
    dated = [d for d in days if len(d) == 10]
    if dated:
        return Publication(serial, max(dated))
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch.isdigit() else \
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return Publication(serial, when.date().isoformat())


def write(site_dir: Path, pub: Publication) -> None:
    """Put the record in a built site (before the gates and the manifest read it)."""
    path = Path(site_dir) / RECORD
    if path.exists():
        from temoin.errors import GateError

        raise GateError([f"{RECORD}: the site's own pages hold a file of that name; it is "
                         "the publication record's (rename the page)"])
    path.write_bytes(pub.data())


def parse(data: bytes) -> Publication | None:
    """The record in `data`, or None when it is not one (hostile input: strict)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    serial, date = doc.get("serial"), doc.get("date")
    if not isinstance(serial, int) or isinstance(serial, bool) or serial < 0 or \
            not isinstance(date, str) or len(date) != 10:
        return None
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        return None
    return Publication(serial, date)


def read(site_dir: Path) -> Publication | None:
    path = Path(site_dir) / RECORD
    if not path.is_file() or path.is_symlink():
        return None
    return parse(path.read_bytes()[:4096])


# -- what this machine has seen --------------------------------------------------------------
def _seen_file(fingerprint: str) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    fpr = "".join(c for c in fingerprint.upper() if c in "0123456789ABCDEF") or "unknown"
    return Path(base) / "temoin" / "seen" / f"{fpr}.json"


def highest_seen(fingerprint: str) -> Publication | None:
    """The newest publication verified on this machine for sites signed by `fingerprint`."""
    try:
        return parse(_seen_file(fingerprint).read_bytes())
    except OSError:
        return None


def remember(fingerprint: str, pub: Publication) -> None:
    """Keep `pub` as the newest seen for this site key (never lowers it)."""
    from temoin.files import write_atomic

    old = highest_seen(fingerprint)
    if old is not None and old.serial >= pub.serial:
        return
    path = _seen_file(fingerprint)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(path, pub.data())


def stale(pub: Publication | None, known: list[tuple[int, str]]) -> list[str]:
    """Why a site with record `pub` is older than the newest known (serial, where from)."""
    if pub is None:
        return [f"{RECORD} missing or malformed: the site says not which publication it is "
                "(built before publication serials, or stripped), so it cannot be known to "
                "be current"]
    out = []
    for serial, source in known:
        if pub.serial < serial:
            out.append(f"{RECORD}: {pub}, older than publication {serial} ({source}): a "
                       "stale or rolled-back copy; a case withdrawn since may still be on it. "
                       "Do not use it: fetch the current site")
    return out
