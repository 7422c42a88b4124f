"""The readable summary of a partner dossier (README.html), French and English.

Every value from a case is escaped (`html.escape`): a testimony or a title can hold `<script>`
and must show as text. The page is self-contained: no script, no external resource, a
Content-Security-Policy that forbids both, so opening it offline fetches nothing.
"""

from __future__ import annotations

import html
import re
from typing import Any

import yaml

from temoin.cases import Case, vocab
from temoin.config import Config, Partner

_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}$")
STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;"
         "line-height:1.45}th{text-align:left;vertical-align:top;padding-right:1em}"
         "pre,.text{white-space:pre-wrap;background:#f4f4f4;padding:.6em}"
         "td,th{border-bottom:1px solid #ddd}table{border-collapse:collapse}")

INTRO = {
    "fr": ("Dossier transmis par {org}", "Destinataire : {partner} ({category}), clé {fpr}.",
           "Créé le {created}. {scope}",
           "Chaque fichier est listé avec son empreinte SHA-256 dans MANIFEST.json ; "
           "le dossier entier est signé par la clé de l'organisation ({org_key}).",
           "Partie publique seulement (ce que le site publie).",
           "Parties publique et confidentielle, pièces originales et journal de "
           "traçabilité. Données confidentielles : à protéger."),
    "en": ("Dossier sent by {org}", "Recipient: {partner} ({category}), key {fpr}.",
           "Created {created}. {scope}",
           "Every file is listed with its SHA-256 digest in MANIFEST.json; the whole "
           "dossier is signed by the organisation key ({org_key}).",
           "Public part only (what the site publishes).",
           "Public and confidential parts, original evidence and chain-of-custody log. "
           "Confidential data: keep it protected."),
}
LABELS = {  # key: (fr, en)
    "title": ("Titre", "Title"), "status": ("État", "Status"),
    "date": ("Date des faits", "Date of events"), "place": ("Lieu", "Place"),
    "acts": ("Violations", "Violations"), "victims": ("Victimes", "Victims"),
    "verification": ("Niveau de vérification", "Verification level"),
    "consent": ("Consentement à la publication", "Publication consent"),
    "summary": ("Résumé", "Summary"), "narrative": ("Récit public", "Public account"),
    "evidence": ("Pièces", "Evidence"), "interventions": ("Interventions", "Interventions"),
    "private": ("Partie confidentielle", "Confidential part"),
    "file": ("Fichier du dossier", "File in the dossier"),
    "original": ("Nom d'origine", "Original name"), "type": ("Type", "Type"),
    "size": ("Taille (octets)", "Size (bytes)"), "addressed_to": ("Adressée à", "Addressed to"),
    "int_status": ("Suite", "Progress"), "response": ("Réponse", "Response"),
    "outcome": ("Résultat", "Outcome"),
}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def both(key: str) -> str:
    fr, en = LABELS[key]
    return esc(fr if fr == en else f"{fr} / {en}")


def term(vocabulary: str, code: Any) -> str:
    fr, en = vocab.label(vocabulary, str(code), "fr"), vocab.label(vocabulary, str(code), "en")
    return esc(fr if fr == en else f"{fr} / {en}")


def _place(meta: dict[str, Any]) -> str:
    ev = meta.get("event") or {}
    loc = ev.get("location") or {}
    country = str(loc.get("country") or "")
    parts = [vocab.country_label(country, "fr")] if country else []
    if loc.get("admin1"):
        p = vocab.place(country, str(loc["admin1"]), ev.get("date_start"))
        parts.append(p.fr if p else str(loc["admin1"]))
    if loc.get("admin2"):
        parts.append(str(loc["admin2"]))
    return esc(", ".join(parts))


def _rows(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    return f"<table><tbody>{body}</tbody></table>"


def _case(case: Case, private: dict[str, Any] | None) -> str:
    m = case.meta
    ev = m.get("event") or {}
    titles = m.get("title") or {}
    victims = sum(int(v.get("count", 1)) for v in m.get("victims") or [] if isinstance(v, dict))
    acts = sorted({str(a.get("type")) for a in m.get("acts") or [] if isinstance(a, dict)})
    summary = m.get("summary") or {}
    rows = [
        (both("title"), "<br>".join(esc(titles.get(k)) for k in ("fr", "en") if titles.get(k))),
        (both("status"), term("status", m.get("status"))),
        (both("date"), esc(ev.get("date_start") or "")),
        (both("place"), _place(m)),
        (both("acts"), "<br>".join(term("acts", a) for a in acts)),
        (both("victims"), esc(victims) if victims else ""),
        (both("verification"), term("verification", m.get("verification"))),
        (both("consent"), term("consent", m.get("consent"))),
        (both("summary"), "<br>".join(esc(summary.get(k)) for k in ("fr", "en")
                                      if summary.get(k))),
    ]
    out = [f"<section id=\"{esc(case.id)}\"><h2>{esc(case.id)}</h2>", _rows(rows)]
    if case.narrative.strip():
        out.append(f"<h3>{both('narrative')}</h3><div class=\"text\">"
                   f"{esc(case.narrative.strip())}</div>")
    if private is not None:
        out.append(_evidence(case.id, private))
        out.append(_interventions(private))
        dump = yaml.safe_dump(private, allow_unicode=True, sort_keys=False, width=100)
        out.append(f"<h3>{both('private')}</h3><pre>{esc(dump)}</pre>")
    out.append("</section>")
    return "".join(out)


def _evidence(case_id: str, private: dict[str, Any]) -> str:
    items = [e for e in private.get("evidence") or [] if isinstance(e, dict)]
    if not items:
        return ""
    head = "".join(f"<th>{both(k)}</th>" for k in ("file", "original", "type", "size"))
    rows = []
    for e in items:
        ext = _EXT.search(str(e.get("safe_name") or ""))
        rel = f"cases/{case_id}/evidence/{e.get('sha256')}" + (ext.group(0).lower() if ext
                                                                else ".bin")
        rows.append(f"<tr><td><code>{esc(rel)}</code></td><td>{esc(e.get('name'))}</td>"
                    f"<td>{esc(e.get('media_type'))}</td><td>{esc(e.get('size'))}</td></tr>")
    return (f"<h3>{both('evidence')}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _interventions(private: dict[str, Any]) -> str:
    items = [r for r in private.get("interventions") or [] if isinstance(r, dict)]
    if not items:
        return ""
    head = "".join(f"<th>{both(k)}</th>" for k in ("date", "type", "addressed_to",
                                                     "int_status", "response", "outcome"))
    rows = [f"<tr><td>{esc(r.get('date'))}</td><td>{term('intervention_types', r.get('type'))}"
            f"</td><td>{esc(r.get('addressed_to'))}</td>"
            f"<td>{term('intervention_status', r.get('status'))}</td>"
            f"<td>{esc(r.get('response'))}</td><td>{esc(r.get('outcome'))}</td></tr>"
            for r in items]
    return (f"<h3>{both('interventions')}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def summary_html(cfg: Config, partner: Partner, cases: list[Case],
                 privates: dict[str, dict[str, Any]], public_only: bool, created: str) -> str:
    """README.html of a dossier: who sent it to whom, then each case, all values escaped."""
    intro = []
    for lang in ("fr", "en"):
        title, to, when, check, pub, full = INTRO[lang]
        fmt = {"org": esc(cfg.organisation), "partner": esc(partner.name),
               "category": esc(vocab.label("partner_categories", partner.category, lang)),
               "fpr": esc(partner.fingerprint), "created": esc(created),
               "org_key": esc(cfg.inbox_key), "scope": pub if public_only else full}
        intro.append(f"<section lang=\"{lang}\"><h1>{title.format(**fmt)}</h1>"
                     f"<p>{to.format(**fmt)}</p><p>{when.format(**fmt)}</p>"
                     f"<p>{check.format(**fmt)}</p></section>")
    body = "".join(_case(c, None if public_only else privates.get(c.id)) for c in cases)
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\"><meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(cfg.organisation)} — dossier</title><style>{STYLE}</style></head>"
            f"<body>{''.join(intro)}<hr>{body}</body></html>\n")
