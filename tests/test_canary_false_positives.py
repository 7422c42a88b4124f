"""Public text the canary scan must not take for a private value: a refusal the editor can
do nothing about (no signed dismissal fits a chance match) stops every build."""

from __future__ import annotations

from pathlib import Path

import pytest

from temoin import gates
from temoin.gates import guard

PHONE = "+257 70 83 12 23"
CANARIES = guard.canaries_from_private(
    "BI-2017-IURCZY", {"victims": [{"name": "Ndayisenga Kwizera", "contact": PHONE}]})


def _page(rows: str) -> bytes:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Bulletin"
            f"</title></head><body><table><tr><th>Perpetrator</th><th>1</th><th>2</th>"
            f"</tr>{rows}</table></body></html>").encode()


def _scan(tmp_path: Path, data: bytes) -> list[gates.Finding]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_bytes(data)
    return [f for f in gates.scan(site, canaries=CANARIES) if f.gate == "canary"]


def test_the_phone_written_digit_by_digit_is_still_found(tmp_path: Path) -> None:
    """The reason the scan joins digits across spaces and tags: a phone spelt out a digit
    at a time, in one line or one cell each, is still the phone."""
    cells = "".join(f"<td>{d}</td>" for d in PHONE.removeprefix("+257").replace(" ", ""))
    assert _scan(tmp_path, _page(f"<tr><th>contact</th>{cells}</tr>"))


@pytest.mark.xfail(strict=True, reason=(
    "found on the 20,000-case bench (docs/benchmarks.md): a bulletin's table of counts reads, "
    "cell after cell, as one run of digits whose last 8 are a victim's phone; not changed "
    "without an attack round on the digit join"))
def test_a_table_of_counts_ending_like_a_phone_is_not_a_phone(tmp_path: Path) -> None:
    """Counts by perpetrator, one cell a column, as a bulletin prints them: the row
    "1 6 7 0 8 3 1 2 2 3" ends with the digits of PHONE, but no reader reads a phone there."""
    cells = "".join(f"<td>{d}</td>" for d in "1670831223")
    page = _page(f"<tr><th>separatist armed group</th>{cells}</tr>"
                 f"<tr><th>other armed group</th>{''.join('<td>0</td>' for _ in range(10))}</tr>")
    assert not _scan(tmp_path, page)
