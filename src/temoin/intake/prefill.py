"""Template answers -> public fields of a draft: only values checked against a vocabulary
or the gazetteer reach case.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

from temoin.cases import vocab
from temoin.config import Config
from temoin.intake import form as template

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
              "septembre", "octobre", "novembre", "décembre")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def title(day: dt.date) -> dict[str, str]:
    """A draft's title in both languages: when its testimony was received."""
    return {"fr": f"Témoignage reçu le {day.day} {_MONTHS_FR[day.month - 1]} {day.year}",
            "en": f"Testimony received on {day.day} {_MONTHS_EN[day.month - 1]} {day.year}"}


def answers(text: str, country: str) -> dict[str, Any]:
    """The submission form's answers (`form.parse`), if the source used the form."""
    try:
        values = template.parse(text, country)
    except Exception:  # noqa: BLE001 - a prefill failure must never block an ingest
        return {}
    return values if isinstance(values, dict) else {}


def yaml_safe(value: Any) -> Any:
    """`value` with only what case.md may hold: str keys, lists, scalars, dates."""
    if isinstance(value, dict):
        return {str(k): yaml_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [yaml_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str | dt.date):
        return value
    return str(value)


def _event_date(value: Any) -> tuple[dt.date | None, str]:
    if isinstance(value, dt.datetime):
        return value.date(), "day"
    if isinstance(value, dt.date):
        return value, "day"
    text = str(value or "").strip()
    for fmt, precision in (("%Y-%m-%d", "day"), ("%Y-%m", "month"), ("%Y", "year")):
        try:
            return dt.datetime.strptime(text, fmt).date(), precision
        except ValueError:
            continue
    return None, "day"


def prefill(cfg: Config, values: dict[str, Any]) -> dict[str, Any]:
    """Public fields from the template's answers only, each checked against a controlled
    vocabulary or the gazetteer: free text from a submission never reaches case.md. Act
    types need a victim, so one `v1` of unknown sex and age is added for the editors."""
    day, precision = _event_date(values.get("date"))
    place = None
    if values.get("admin1"):
        place = vocab.place(cfg.country, str(values["admin1"]), day)
    if place is None and values.get("place"):
        place = vocab.find_place(cfg.country, str(values["place"]), day)
    event: dict[str, Any] = {"date_start": day, "date_end": None,
                             "location": {"country": cfg.country,
                                          "admin1": place.fr if place else None,
                                          "precision": "admin1" if place else "country"}}
    if day is not None:
        event["date_precision"] = precision
    out: dict[str, Any] = {"event": event}
    raw_acts = values.get("acts") or []
    acts = list(dict.fromkeys(a for a in raw_acts if vocab.is_term("acts", a))) \
        if isinstance(raw_acts, list | tuple) else []
    if acts:
        out["victims"] = [{"id": "v1", "count": 1, "sex": "unknown", "age_group": "unknown",
                           "status_now": "unknown"}]
        out["acts"] = [{"victim": "v1", "type": a} for a in acts]
    return out
