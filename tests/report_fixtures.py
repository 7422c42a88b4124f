"""A generated set of cases with known counts, and the counts computed independently.

The expected figures here are computed with plain loops over the cases' front matter, never
with `temoin.site.counts`: a test compares the site's figures with these. Only the vocabulary
(which category an act belongs to, a place's label) comes from the package's data.

The published cases are written unsigned and built without signature checks; what changes
the workflow after publication goes through `curation.steps` as an editor's command does,
signed with real keys: a withdrawal is a signed decision, and the withdrawn case is sealed
to the editors (issue 16), so every build of the repo reads it through their keyring
(`editors_env`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from temoin import cases, config, keys, scaffold, settings, trust
from temoin.cases import vocab
from temoin.curation import steps as workflow
from tests.helpers import base_meta, stop_gpg

START = dt.date(2025, 9, 1)          # Monday of ISO week 2025-W36
WEEKS = 6                            # events in 2025-W36 … 2025-W41
ALICE, BOB = "A" * 40, "B" * 40      # review fingerprints (signatures are not checked here)
REVIEW = {"verified_by": ALICE, "approved_by": BOB, "risk_reviewed": dt.date(2025, 8, 1)}
PROVINCES = ["BI-GIT", "BI-BUJ", "BI-BUR", "BI-BUT", "BI-BUH"]
ACTS = ["killing", "extrajudicial_execution", "attempted_killing", "enforced_disappearance",
        "abduction", "torture", "ill_treatment", "arbitrary_arrest", "arbitrary_detention",
        "rape", "threats", "extortion"]
PERPS = ["police", "military", "intelligence", "party_militia", "unknown"]
NAME_CANARY = "Ndayisenga CANARY-NAMED-5Q"


@dataclass
class CaseSet:
    """What was generated: every case's meta by kind."""

    repo: Path
    published: list[dict[str, Any]] = field(default_factory=list)
    aggregate: list[dict[str, Any]] = field(default_factory=list)
    withdrawn: list[dict[str, Any]] = field(default_factory=list)
    late: dict[str, Any] | None = None
    named: dict[str, Any] | None = None

    @property
    def counted(self) -> list[dict[str, Any]]:
        return self.published + self.aggregate


@dataclass(frozen=True)
class Editors:
    """The two editors of a `make_repo` repository and the keyring holding their keys."""

    keyring: keys.Keyring
    alice: str
    bob: str


def make_repo(root: Path, period: str = "week", first_number: int = 1) -> Path:
    """`temoin init` with the bulletin period and first number set, and two editors (Alice
    and Bob, fresh keys in `root/gnupg`) who found its signed trust root."""
    repo = root / "org"
    scaffold.init(repo, "SOS-Test", "BI", git=False)
    kr = keys.Keyring(root / "gnupg")
    try:
        fprs = {name: kr.generate(name.capitalize(), f"{name}@example.invalid")
                for name in ("alice", "bob")}
        for name, fpr in fprs.items():
            (repo / "keys" / "editors" / f"{name}.asc").write_text(kr.export_public(fpr))

        def change(o: Any) -> None:
            o["bulletin_period"] = period
            o["bulletin_first_number"] = first_number
            o["recipients"] = [{"fingerprint": fprs["alice"], "name": "Alice"},
                               {"fingerprint": fprs["bob"], "name": "Bob"}]

        settings.update(repo, change)
        trust.found(repo, config.load(repo), kr, [fprs["alice"], fprs["bob"]])
    finally:
        stop_gpg(kr.home)
    return repo


def editors(repo: Path) -> Editors:
    """The editors `make_repo` made for `repo`."""
    by_name = {e.name: e.fingerprint for e in config.load(repo).recipients}
    return Editors(keys.Keyring(Path(repo).parent / "gnupg"), by_name["Alice"], by_name["Bob"])


@contextlib.contextmanager
def editors_env(repo: Path) -> Iterator[Editors]:
    """GNUPGHOME set to the editors' keyring of `repo` (what an editor's shell has: sealed
    cases are read through it), its gpg-agent stopped on the way out (the session-wide
    builds live outside any test's tmp_path)."""
    import pytest

    ed = editors(repo)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("GNUPGHOME", str(ed.keyring.home))
            yield ed
    finally:
        stop_gpg(ed.keyring.home)


def build(repo: Path, site: Path) -> Any:
    """`engine.run_mkdocs` of `repo` into `site` as an editor builds it (GNUPGHOME holding
    the editors' keys), without signature checks: the generated cases are unsigned."""
    from temoin.site import engine

    with editors_env(repo):
        return engine.run_mkdocs(repo, site, verify_signatures=False)


def withdraw(repo: Path, case_id: str, reason: str, reason_en: str, day: dt.date) -> None:
    """`temoin case withdraw` on `day` by Alice: a signed withdrawal, the case sealed."""
    with editors_env(repo) as ed:
        workflow.withdraw(repo, config.load(repo), ed.keyring, case_id, ed.alice, reason,
                          reason_en, day)


def add(repo: Path, seed: str, **meta: Any) -> dict[str, Any]:
    """Save one case (valid, reviewed, unsigned) and return its front matter."""
    m = base_meta(seed.encode(), review=REVIEW)
    m.update(meta)
    cases.save(repo, cases.Case(m, "Récit anonymisé."))
    return m


def make_set(repo: Path, n: int = 26, seed: int = 7) -> CaseSet:
    """`n` published cases over six weeks, plus aggregate-only, named, late, urgent and
    withdrawn ones, drawn from a seeded generator (same set every run)."""
    rng = random.Random(seed)
    out = CaseSet(repo)
    for i in range(n):
        day = START + dt.timedelta(days=rng.randrange(7 * WEEKS))
        victims = [{"id": f"v{k}", "count": rng.choice([1, 1, 1, 2, 3]),
                    "sex": rng.choice(["f", "m", "m", "unknown"]),
                    "age_group": rng.choice(["adult", "adult", "child", "elderly", "unknown"]),
                    "status_now": rng.choice(["detained", "free", "dead", "disappeared"])}
                   for k in range(1, rng.randint(1, 3) + 1)]
        perps = [{"id": f"p{k}", "type": rng.choice(PERPS)}
                 for k in range(1, rng.randint(1, 2) + 1)]
        acts = []
        for v in victims:
            for a in rng.sample(ACTS, rng.randint(1, 3)):
                refs = [p["id"] for p in rng.sample(perps, rng.randint(1, len(perps)))]
                acts.append({"victim": v["id"], "type": a, "perpetrators": refs})
                if rng.random() < 0.15:  # the same act twice: still one count
                    acts.append({"victim": v["id"], "type": a, "perpetrators": refs})
        kind = "aggregate" if i % 9 == 4 else "published"
        meta = dict(
            event={"date_start": day, "date_end": None, "date_precision": "day",
                   "location": {"country": "BI", "admin1": rng.choice(PROVINCES),
                                "precision": "admin1"}},
            victims=victims, perpetrators=perps, acts=acts,
            consent="aggregate_only" if kind == "aggregate" else "anonymised",
            published=day + dt.timedelta(days=2), urgent=(i in (3, 11)),
            title={"fr": f"Cas généré {i}", "en": f"Generated case {i}"})
        if i == 5:  # documented late: in the bulletin of its publication, weeks later
            meta["published"] = day + dt.timedelta(days=60)
        if i == 6:
            meta["interventions"] = [{"date": day + dt.timedelta(days=9), "type": "urgent_appeal",
                                      "summary": {"fr": "Appel urgent envoyé.",
                                                  "en": "Urgent appeal sent."}}]
        m = add(repo, f"set-{seed}-{i}", **meta)
        (out.aggregate if kind == "aggregate" else out.published).append(m)
        if i == 5:
            out.late = m
    # A named victim (consented), an adult with no sexual violence: the name is on the
    # case page only, never in the open data.
    out.named = add(repo, f"set-{seed}-named", consent="named", title={
        "fr": "Cas nominatif", "en": "Named case"},
        event={"date_start": START + dt.timedelta(days=3), "date_end": None,
               "date_precision": "day",
               "location": {"country": "BI", "admin1": "BI-GIT", "precision": "admin1"}},
        victims=[{"id": "v1", "count": 1, "sex": "m", "age_group": "adult",
                  "status_now": "detained", "name": NAME_CANARY}],
        published=START + dt.timedelta(days=5))
    out.published.append(out.named)
    # Published in week 2, withdrawn in week 4 (by the signed decision an editor makes).
    w = add(repo, f"set-{seed}-withdrawn",
            title={"fr": "Cas retiré", "en": "Withdrawn case"},
            event={"date_start": START + dt.timedelta(days=8), "date_end": None,
                   "date_precision": "day",
                   "location": {"country": "BI", "admin1": "BI-BUJ", "precision": "admin1"}},
            published=START + dt.timedelta(days=10))
    gone = START + dt.timedelta(days=23)
    reason = {"fr": "Demande de la victime.", "en": "Victim's request."}
    withdraw(repo, w["id"], reason["fr"], reason["en"], gone)
    w.update(status="withdrawn", withdrawn={"date": gone, "reason": reason})
    out.withdrawn.append(w)
    return out


# -- independent counting ---------------------------------------------------------------------
def category(act: str) -> str:
    return str(vocab.terms("acts")[act]["category"])


def _victims(meta: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, set[str]]]]:
    """Each victim with its act types and, per type, the perpetrator types involved."""
    ptype = {p["id"]: p["type"] for p in meta.get("perpetrators") or []}
    out = []
    for v in meta.get("victims") or []:
        acts: dict[str, set[str]] = defaultdict(set)
        for a in meta.get("acts") or []:
            if a["victim"] == v["id"]:
                acts[a["type"]].update(ptype[r] for r in a.get("perpetrators") or [])
        if acts:
            out.append((v, acts))
    return out


def in_week(meta: dict[str, Any], monday: dt.date) -> bool:
    """The case's events began in the week of `monday` (statistics count by event)."""
    return monday <= meta["event"]["date_start"] < monday + dt.timedelta(days=7)


def published_in_week(meta: dict[str, Any], monday: dt.date) -> bool:
    """The case was published in the week of `monday` (bulletins count by publication)."""
    return monday <= meta["published"] < monday + dt.timedelta(days=7)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def bulletin_weeks(made: CaseSet) -> list[dt.date]:
    """The Monday of every week in which something was published: one bulletin each."""
    return sorted({monday_of(m["published"]) for m in made.counted + made.withdrawn})


def small_cells(fn: Any) -> Any:
    """The counting rule for aggregate-only persons (issue 15), written independently: the
    published figure, plus the aggregate-only figure of each cell rounded down to a
    multiple of 3."""
    import functools

    @functools.wraps(fn)
    def counted(metas: list[dict[str, Any]]) -> Any:
        pub = fn([m for m in metas if m.get("consent") != "aggregate_only"])
        agg = fn([m for m in metas if m.get("consent") == "aggregate_only"])
        if isinstance(pub, int):
            return pub + agg - agg % 3
        out = Counter(pub)
        for k, n in agg.items():
            out[k] += n - n % 3
        return Counter({k: n for k, n in out.items() if n})
    return counted


@small_cells
def persons(metas: list[dict[str, Any]]) -> int:
    return sum(v.get("count", 1) for m in metas for v, _ in _victims(m))


@small_cells
def by_category(metas: list[dict[str, Any]]) -> Counter[str]:
    c: Counter[str] = Counter()
    for m in metas:
        for v, acts in _victims(m):
            for cat in {category(a) for a in acts}:
                c[cat] += v.get("count", 1)
    return c


@small_cells
def by_act(metas: list[dict[str, Any]]) -> Counter[str]:
    c: Counter[str] = Counter()
    for m in metas:
        for v, acts in _victims(m):
            for a in acts:
                c[a] += v.get("count", 1)
    return c


@small_cells
def by_province_category(metas: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    c: Counter[tuple[str, str]] = Counter()
    for m in metas:
        code = m["event"]["location"]["admin1"]
        for v, acts in _victims(m):
            for cat in {category(a) for a in acts}:
                c[(code, cat)] += v.get("count", 1)
    return c


@small_cells
def by_perpetrator_category(metas: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    c: Counter[tuple[str, str]] = Counter()
    for m in metas:
        for v, acts in _victims(m):
            cells = {(p, category(a)) for a, ps in acts.items() for p in (ps or {"unknown"})}
            for cell in cells:
                c[cell] += v.get("count", 1)
    return c


@small_cells
def by_month_category(metas: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    c: Counter[tuple[str, str]] = Counter()
    for m in metas:
        month = m["event"]["date_start"].strftime("%Y-%m")
        for v, acts in _victims(m):
            for cat in {category(a) for a in acts}:
                c[(month, cat)] += v.get("count", 1)
    return c


@small_cells
def by_age_sex(metas: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    c: Counter[tuple[str, str]] = Counter()
    for m in metas:
        for v, _ in _victims(m):
            c[(v.get("age_group", "unknown"), v.get("sex", "unknown"))] += v.get("count", 1)
    return c


def row_count(metas: list[dict[str, Any]]) -> int:
    """Open-data rows: one per victim and distinct act type."""
    return sum(len(acts) for m in metas for _, acts in _victims(m))


# -- reading built pages ----------------------------------------------------------------------
class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self._caption: str | None = None
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._in_caption = False
        self.items: list[str] = []          # text of every <li>
        self._li: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._rows, self._caption = [], ""
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []
        elif tag == "li":
            self._li.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables[" ".join((self._caption or "").split())] = self._rows
            self._rows = None
        elif tag == "li" and self._li:
            self.items.append(" ".join("".join(self._li.pop()).split()))

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self._caption = (self._caption or "") + data
        if self._cell is not None:
            self._cell.append(data)
        for li in self._li:
            li.append(data)


def read_page(path: Path) -> _Tables:
    """Tables (by caption: header row then data rows) and list items of a built page."""
    p = _Tables()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def place_label(code: str, lang: str = "fr") -> str:
    p = vocab.place(code.split("-")[0], code)
    assert p is not None
    return p.label(lang) + (" (ancienne province)" if p.valid_until and lang == "fr" else "")


# -- one shared build -------------------------------------------------------------------------
_BUILT: dict[str, tuple[CaseSet, Path]] = {}
EPOCH = "1760000000"  # 2025-10-09, inside 2025-W41


def built_site(root_factory: Any) -> tuple[CaseSet, Path]:
    """The generated set built once per test session (weekly bulletins, unsigned cases but a
    signed withdrawal, SOURCE_DATE_EPOCH fixed): tests read it, none changes it."""
    if "site" not in _BUILT:
        import pytest

        root = root_factory.mktemp("reports")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
            repo = make_repo(root)
            made = make_set(repo)
            build(repo, root / "site")
        _BUILT["site"] = (made, root / "site")
    return _BUILT["site"]


def week_key(monday: dt.date) -> str:
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


def rebuilt_site(root_factory: Any) -> Path:
    """The same repo built a second time into another folder, with the PDF cache emptied
    first, under the same SOURCE_DATE_EPOCH: for byte-for-byte comparisons."""
    if "again" not in _BUILT:
        import shutil

        import pytest

        made, site = built_site(root_factory)
        from temoin import cache

        shutil.rmtree(cache.home() / cache.repo_id(made.repo) / "pdf", ignore_errors=True)
        again = site.parent / "site-again"
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
            build(made.repo, again)
        _BUILT["again"] = (made, again)
    return _BUILT["again"][1]
