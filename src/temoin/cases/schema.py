"""The one table of case fields, and the validation that reads it.

Every field of a case, public (`case.md` front matter) or private (`private.yaml.asc`), is
one `Field` in `FIELDS`: its path, its part, its type and vocabulary, whether it is required
(always, or to publish), whether it records the workflow rather than the facts, which
`temoin case` command sets it, its French and English label, help and an example. Everything
else is derived from the table, never written twice:

- validation (`cases.validation.validate`: the allow-list of keys, types, vocabularies,
  defaults, references);
- `FIELD_ORDER`, `REQUIRED` (the front matter's keys in the order `cases.dumps` writes them);
- `WORKFLOW_KEYS` (what a signed decision's canonical content leaves out: `curation`);
- `PROTECTED` and `COMMANDS` (what `case edit`/`case set` may not change, and who does);
- `PRIVATE_KEYS` (key names that stop the build if found in case.md);
- `fix` (the command a refusal names), `docs/cases.md` and the editor's template
  (`cases.guide`).

A path is dotted, with `[]` for the items of a list: `victims[].sex`, `sources.types[]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ID_RE = re.compile(r"^([A-Z]{2,6})-(\d{4})-([A-Z2-7]{6})$")
ID_FORMAT = ("PREFIX-YEAR-XXXXXX, e.g. BI-2025-K7QX2M: PREFIX is 2 to 6 capital letters, "
             "YEAR 4 digits, XXXXXX 6 characters of the base32 alphabet (capital letters "
             "A-Z and digits 2-7; no 0, 1, 8 or 9)")
FPR_RE = re.compile(r"^[0-9A-F]{40}$|^[0-9A-F]{64}$")

PUBLIC, PRIVATE = "public", "private"
EDIT = "edit"  # set by hand: `temoin case edit` or `temoin case set`
ALWAYS, TO_PUBLISH = "always", "publish"
# Arguments a command needs besides the case id, for messages naming it.
_ARGS = {"verify": " --level LEVEL", "merge": " INTO", "withdraw": " --reason TEXT",
         "reject": " --reason TEXT", "intervene": " --type TYPE --to WHOM",
         "set --private": ""}


@dataclass(frozen=True)
class Field:
    """One field of a case. `kind`: mapping, list (its items are the field `path[]`), text,
    lang_text ({fr, en}), date, bool, count (whole number >= `minimum`), term (of
    `vocabulary`), fingerprint, case_id, country, admin1 (gazetteer), ref (the id of an item
    of the list `refers`), file (a name in media/), any (free YAML, private part only)."""

    path: str
    part: str
    kind: str
    fr: str
    en: str
    help: str
    example: str = ""
    vocabulary: str = ""
    required: str = ""            # "" | ALWAYS (validation) | TO_PUBLISH (the gate)
    nullable: bool = True         # may be null (or absent: then `default`)
    default: Any = None
    minimum: int = 0
    workflow: bool = False        # records the workflow, not the facts (unsigned content)
    set_by: tuple[str, ...] = (EDIT,)
    confidential: bool = False    # its key name in case.md stops the build
    expected: str = ""            # the "expected X" of a problem, when not the kind's
    refers: str = ""              # for kind ref: the list whose items' ids are allowed
    shown: str = ""               # where the public sees it (documentation)

    @property
    def key(self) -> str:
        """The last key of the path ('' for a list item)."""
        return "" if self.path.endswith("[]") else self.path.rsplit(".", 1)[-1]

    @property
    def parent(self) -> str:
        """The path of the mapping or list this field is in ('' at the top)."""
        if self.path.endswith("[]"):
            return self.path[:-2]
        return self.path.rsplit(".", 1)[0] if "." in self.path else ""

    @property
    def editable(self) -> bool:
        return self.set_by == (EDIT,)


def _p(path: str, kind: str, fr: str, en: str, help: str, example: str = "",
       **kw: Any) -> Field:
    return Field(path, PUBLIC, kind, fr, en, help, example, **kw)


def _s(path: str, kind: str, fr: str, en: str, help: str, example: str = "",
       **kw: Any) -> Field:
    return Field(path, PRIVATE, kind, fr, en, help, example, **kw)


_STATUS_CMDS = ("review", "publish", "withdraw", "reject", "merge", "reopen")

# The order of the public fields is the order of case.md (`cases.dumps`).
FIELDS: tuple[Field, ...] = (
    # -- public: case.md ----------------------------------------------------------------
    _p("id", "case_id", "Référence", "Reference",
       "PREFIX-YEAR-6 characters, made by ingest or `case new`; the folder's name.",
       "BI-2025-K7QX2M", required=ALWAYS, nullable=False, set_by=("new",),
       expected=ID_FORMAT, shown="page, open data"),
    _p("title", "lang_text", "Titre", "Title",
       "Short anonymised title, in French and English.",
       '{fr: "Arrestation à Gitega", en: "Arrest in Gitega"}', required=ALWAYS,
       nullable=False, shown="page, listings, bulletins"),
    _p("summary", "lang_text", "Résumé", "Summary",
       "One or two anonymised sentences, in French and English (alerts, feeds, listings).",
       '{fr: "Un homme arrêté par la police.", en: "A man arrested by the police."}',
       shown="page, listings, feeds"),
    _p("status", "term", "État", "Status",
       "Where the case is in the workflow; changed only by the workflow commands.",
       "draft", vocabulary="status", required=ALWAYS, nullable=False, workflow=True,
       set_by=_STATUS_CMDS),
    _p("verification", "term", "Vérification", "Verification",
       "How far the facts were verified (received < recorded < credible < verified < "
       "confirmed; disputed and refuted beside). Publishing needs `publish_min_level`.",
       "verified", vocabulary="verification", required=ALWAYS, nullable=False,
       set_by=("verify",), shown="page, open data"),
    # urgent: a signed decision (`temoin case urgent`, issue 16); the field is for readers.
    _p("urgent", "bool", "Urgent", "Urgent",
       "An urgent alert (risk of torture now): shown on the alerts page and feed only when "
       "signed (`temoin case urgent`).",
       "false", nullable=False, default=False, workflow=True, expected="true or false",
       set_by=("urgent",), shown="alerts page, feed, open data"),
    _p("event", "mapping", "Faits", "Event", "When and where it happened.",
       required=ALWAYS),
    _p("event.date_start", "date", "Début des faits", "Start of the events",
       "The day it happened or began (YYYY-MM-DD; see date_precision).", "2025-10-03",
       required=TO_PUBLISH, shown="page, open data"),
    _p("event.date_end", "date", "Fin des faits", "End of the events",
       "The last day, if it lasted (else null).", "2025-10-05", shown="page, open data"),
    _p("event.date_precision", "term", "Précision de la date", "Date precision",
       "How much of date_start is known (month or year: the rest is shown rounded).", "day",
       vocabulary="date_precision", nullable=False, default="day", shown="page, open data"),
    _p("event.location", "mapping", "Lieu", "Place",
       "Where: country and province, no finer than the settings allow.",
       nullable=False, default={}),
    _p("event.location.country", "country", "Pays", "Country",
       "Country code of the gazetteer.", "BI", nullable=False, shown="page, open data"),
    _p("event.location.admin1", "admin1", "Province ou région", "Province or region",
       "A first-level division of the gazetteer, by name or code, as in force on "
       "date_start.", "Gitega", shown="page, open data"),
    _p("event.location.admin2", "text", "Commune ou département", "Commune or division",
       "Free text; shown only if `location_precision` allows (never for children or sexual "
       "violence).", "Gitega", shown="page (if allowed), open data"),
    _p("event.location.precision", "term", "Précision du lieu", "Place precision",
       "The finest level shown publicly.", "admin1", vocabulary="location_precision",
       nullable=False, default="admin1", shown="page, open data"),
    _p("victims", "list", "Victimes", "Victims",
       "Each victim (or group), anonymised: no names unless consent is named.",
       required=TO_PUBLISH),
    _p("victims[]", "mapping", "Victime", "Victim", "One victim or group.",
       "{id: v1, count: 1, sex: m, age_group: adult, status_now: detained}",
       nullable=False),
    _p("victims[].id", "text", "Identifiant", "Id", "Short id acts refer to.", "v1",
       nullable=False, shown="open data"),
    _p("victims[].count", "count", "Nombre", "Count", "How many people this entry stands for.",
       "1", nullable=False, default=1, minimum=1, expected="a whole number >= 1",
       shown="page, statistics"),
    _p("victims[].sex", "term", "Sexe", "Sex", "", "f", vocabulary="sex", nullable=False,
       default="unknown", shown="page, statistics"),
    _p("victims[].age_group", "term", "Tranche d'âge", "Age group",
       "An age group, never an exact age (that belongs to the private part).", "adult",
       vocabulary="age_group", nullable=False, default="unknown", shown="page, statistics"),
    _p("victims[].status_now", "term", "Situation actuelle", "Current situation", "",
       "detained", vocabulary="victim_status", nullable=False, default="unknown",
       shown="page, statistics"),
    _p("victims[].name", "text", "Nom publié", "Published name",
       "Only with consent: named, never a child's or a survivor of sexual violence's.",
       "", shown="page"),
    _p("perpetrators", "list", "Auteurs présumés", "Alleged perpetrators",
       "Who is alleged to have done it, by type of actor."),
    _p("perpetrators[]", "mapping", "Auteur présumé", "Alleged perpetrator",
       "One alleged perpetrator.", "{id: p1, type: police, institution: \"Police (Gitega)\"}",
       nullable=False),
    _p("perpetrators[].id", "text", "Identifiant", "Id", "Short id acts refer to.", "p1",
       nullable=False),
    _p("perpetrators[].type", "term", "Type", "Type", "", "police",
       vocabulary="perpetrator_types", nullable=False, shown="page, statistics"),
    _p("perpetrators[].institution", "text", "Institution", "Institution",
       "The unit or institution, never a person's name.", "SNR (provincial)", shown="page"),
    _p("perpetrators[].involvement", "term", "Implication", "Involvement", "", "direct",
       vocabulary="involvement", shown="page"),
    _p("acts", "list", "Violations", "Acts", "What was done to whom, by whom.",
       required=TO_PUBLISH),
    _p("acts[]", "mapping", "Violation", "Act", "One act against one victim.",
       "{victim: v1, type: torture, perpetrators: [p1]}", nullable=False),
    _p("acts[].victim", "ref", "Victime", "Victim", "The id of a listed victim.", "v1",
       nullable=False, refers="victims", expected="the id of a listed victim"),
    _p("acts[].type", "term", "Type de violation", "Type of act", "", "torture",
       vocabulary="acts", nullable=False, shown="page, statistics, bulletins"),
    _p("acts[].perpetrators", "list", "Auteurs", "Perpetrators",
       "Ids of listed perpetrators.", "[p1]"),
    _p("acts[].perpetrators[]", "ref", "Auteur", "Perpetrator",
       "The id of a listed perpetrator.", "p1", nullable=False, refers="perpetrators",
       expected="the id of a listed perpetrator"),
    _p("acts[].date", "date", "Date", "Date", "When this act happened, if not date_start.",
       "2025-10-04"),
    _p("sources", "mapping", "Sources", "Sources",
       "How many sources, how independent, of which kinds (who they are: private part)."),
    _p("sources.count", "count", "Nombre de sources", "Number of sources", "", "2",
       nullable=False, default=0, expected="a whole number >= 0", shown="page, open data"),
    _p("sources.independent", "count", "Sources indépendantes", "Independent sources", "",
       "2", nullable=False, default=0, expected="a whole number >= 0",
       shown="page, open data"),
    _p("sources.types", "list", "Types de sources", "Source types", "",
       "[witness_testimony, medical_certificate]"),
    _p("sources.types[]", "term", "Type de source", "Source type", "", "witness_testimony",
       vocabulary="source_types", nullable=False, shown="page, open data"),
    _p("sources.connections", "list", "Liens des sources", "Source connections",
       "How the sources are connected to the events.", "[witness]"),
    _p("sources.connections[]", "term", "Lien", "Connection", "", "witness",
       vocabulary="source_connection", nullable=False),
    _p("consent", "term", "Consentement", "Consent",
       "The publication consent: a page needs anonymised or named; aggregate_only counts "
       "in statistics without a page.", "anonymised", vocabulary="consent",
       required=ALWAYS, nullable=False),
    _p("review", "mapping", "Relecture", "Review",
       "Who verified and approved, when the risks were reviewed: written by the commands "
       "that sign them.", workflow=True),
    _p("review.verified_by", "fingerprint", "Vérifié par", "Verified by",
       "Fingerprint of the editor who signed the verification.", set_by=("verify",),
       expected="an editor key fingerprint (40 hex, capitals)", workflow=True),
    _p("review.approved_by", "fingerprint", "Approuvé par", "Approved by",
       "Fingerprint of the second editor who signed the approval (four eyes).",
       set_by=("approve",), expected="an editor key fingerprint (40 hex, capitals)",
       workflow=True),
    _p("review.risk_reviewed", "date", "Risques examinés le", "Risks reviewed on",
       "The day the risks of publishing (to victims, sources, witnesses) were reviewed.",
       set_by=("risk-review",), workflow=True),
    _p("review.quotes_acknowledged", "list", "Citations acceptées", "Quotes acknowledged",
       "Ids of the verbatim runs of the testimony (8+ words) the risk review accepted in "
       "the public text (`case risk-review --acknowledge-quotes`).",
       set_by=("risk-review",), workflow=True),
    _p("review.quotes_acknowledged[]", "text", "Citation acceptée", "Quote acknowledged",
       "12 hex digits naming one run, as `case publish` lists it.", "05e9eb8e83be",
       nullable=False, workflow=True),
    _p("received", "date", "Reçu le", "Received on", "The day the testimony arrived.",
       "2025-10-04"),
    _p("published", "date", "Publié le", "Published on", "", set_by=("publish",),
       workflow=True, shown="page, feeds, bulletins"),
    _p("updated", "date", "Mis à jour le", "Updated on",
       "The day a published case was re-published.", set_by=("publish",), workflow=True,
       shown="page, feeds, bulletins"),
    _p("tags", "list", "Mots-clés", "Tags", "Free public keywords.", "[étudiants]"),
    _p("tags[]", "text", "Mot-clé", "Tag", "", "étudiants", nullable=False, shown="page"),
    _p("media", "list", "Médias", "Media",
       "Scrubbed files in the case's media/ folder approved for publication."),
    _p("media[]", "mapping", "Média", "Medium", "",
       '{file: photo.jpg, caption: {fr: "…", en: "…"}}', nullable=False),
    _p("media[].file", "file", "Fichier", "File", "A file name in media/ (no folder).",
       "photo.jpg", nullable=False, expected="a file name in media/", shown="page"),
    _p("media[].caption", "lang_text", "Légende", "Caption", "", '{fr: "…", en: "…"}',
       shown="page"),
    _p("interventions", "list", "Interventions", "Interventions",
       "Public summaries of interventions, derived from the private records.",
       set_by=("intervene",), workflow=True),
    _p("interventions[]", "mapping", "Intervention", "Intervention", "", nullable=False,
       set_by=("intervene",), workflow=True),
    _p("interventions[].date", "date", "Date", "Date", "", "2025-10-06", nullable=False,
       set_by=("intervene",), workflow=True, shown="page, feeds, bulletins"),
    _p("interventions[].type", "term", "Type", "Type", "", "urgent_appeal",
       vocabulary="intervention_types", nullable=False, set_by=("intervene",),
       workflow=True, shown="page, feeds, bulletins"),
    _p("interventions[].summary", "lang_text", "Résumé public", "Public summary", "", "",
       set_by=("intervene",), workflow=True, shown="page, feeds, bulletins"),
    _p("withdrawn", "mapping", "Retrait", "Withdrawal",
       "Set by `temoin case withdraw`: the date and the public reason (the erratum).",
       set_by=("withdraw",), workflow=True),
    _p("withdrawn.date", "date", "Date", "Date", "", "2025-11-02", nullable=False,
       set_by=("withdraw",), workflow=True),
    _p("withdrawn.reason", "lang_text", "Motif", "Reason", "Public: the erratum shows it.",
       set_by=("withdraw",), workflow=True, shown="bulletins (erratum)"),
    _p("duplicate_of", "case_id", "Doublon de", "Duplicate of",
       "The case this one was merged into.", "BI-2025-K7QX2M", set_by=("merge",),
       expected="a case id", workflow=True),

    # -- private: private.yaml.asc (encrypted to every editor; never public) --------------
    _s("intake", "mapping", "Réception", "Intake",
       "How the testimony arrived (written by ingest or `case new`).", set_by=("ingest",)),
    _s("intake.received", "text", "Reçu", "Received", "Time of intake (UTC).",
       "2025-10-04T08:12:00Z", set_by=("ingest",)),
    _s("intake.channel", "text", "Canal", "Channel",
       "email, file, in_person, phone, messaging or other.", "email", set_by=("ingest",)),
    _s("intake.entered_by", "fingerprint", "Saisi par", "Entered by",
       "The editor who created the case by hand.", set_by=("new",)),
    _s("intake.submissions", "list", "Soumissions", "Submissions",
       "The ciphertexts this case came from: sha256, file name, kind.", set_by=("ingest",)),
    _s("intake.submissions[]", "any", "Soumission", "Submission", "", set_by=("ingest",)),
    _s("intake.envelope_kind", "text", "Enveloppe", "Envelope", "", set_by=("ingest",)),
    _s("intake.encryption_layers", "count", "Couches de chiffrement", "Encryption layers",
       "", set_by=("ingest",)),
    _s("intake.literal", "any", "Paquet littéral", "Literal packet",
       "OpenPGP literal data format and name.", set_by=("ingest",)),
    _s("subject", "text", "Objet", "Subject", "The message's original subject.",
       set_by=("ingest",), confidential=True),
    _s("testimony", "text", "Témoignage", "Testimony", "The raw testimony text, as received.",
       confidential=True),
    _s("signer", "any", "Signataire", "Signer",
       "The submission's OpenPGP signer: {fingerprint, valid}.", set_by=("ingest",),
       confidential=True),
    _s("plaintext_beside", "text", "Texte en clair joint", "Plaintext beside",
       "Unencrypted text that came beside the encrypted part (noted, never merged).",
       set_by=("ingest",)),
    _s("charset_note", "text", "Note d'encodage", "Charset note", "", set_by=("ingest",)),
    _s("intake_note", "text", "Note de réception", "Intake note",
       "For a file sent as OpenPGP data: what the testimony holds.", set_by=("ingest",)),
    _s("consent_requested", "term", "Consentement demandé", "Consent requested",
       "The consent the source gave: from the form, or recorded at `case new --consent`. "
       "It is the ceiling of the public consent unless a signed `temoin case consent` "
       "statement raises it.", "anonymised", vocabulary="consent", set_by=("ingest", "new")),
    _s("template", "any", "Réponses au formulaire", "Form answers",
       "The submission form's answers, as parsed.", set_by=("ingest",)),
    _s("evidence", "list", "Pièces", "Evidence",
       "Attachments, each signed and encrypted under evidence/ (a keyed name).",
       set_by=("ingest",)),
    _s("evidence[]", "mapping", "Pièce", "Evidence item", "", set_by=("ingest",)),
    _s("evidence[].name", "text", "Nom", "Name", "The name the source gave.",
       set_by=("ingest",)),
    _s("evidence[].safe_name", "text", "Nom sûr", "Safe name",
       "The name as shown (no path, control or bidi character).", set_by=("ingest",)),
    _s("evidence[].sha256", "text", "SHA-256", "SHA-256", "", set_by=("ingest",)),
    _s("evidence[].file", "text", "Fichier", "File",
       "Its file in evidence/: a keyed hash of case id and sha256 (older: <sha256>.asc).",
       set_by=("ingest", "merge", "migrate")),
    _s("evidence[].media_type", "text", "Type", "Media type", "", "application/pdf",
       set_by=("ingest",)),
    _s("evidence[].size", "count", "Taille", "Size", "In bytes.", set_by=("ingest",)),
    _s("evidence[].from_case", "case_id", "Venu du cas", "From case",
       "The case it was merged from.", set_by=("merge",)),
    _s("victims", "list", "Victimes (identité)", "Victims (identity)",
       "Who the public victims are: same ids as in case.md.",
       "[{id: v1, full_name: \"…\", contact: \"…\"}]"),
    _s("victims[]", "mapping", "Victime", "Victim", ""),
    _s("victims[].id", "text", "Identifiant", "Id", "The id of the public victim.", "v1"),
    _s("victims[].full_name", "text", "Nom complet", "Full name", "", confidential=True),
    _s("victims[].alias", "text", "Surnom", "Alias", "", confidential=True),
    _s("victims[].age", "count", "Âge", "Age", "The exact age (public: age_group only).",
       "17", confidential=True),
    _s("victims[].date_of_birth", "date", "Date de naissance", "Date of birth", "",
       confidential=True),
    _s("victims[].contact", "text", "Contact", "Contact", "", confidential=True),
    _s("victims[].phone", "text", "Téléphone", "Phone", "", confidential=True),
    _s("victims[].email", "text", "Courriel", "E-mail", "", confidential=True),
    _s("victims[].address", "text", "Adresse", "Address", "", confidential=True),
    _s("victims[].id_number", "text", "Numéro d'identité", "ID number", "",
       confidential=True),
    _s("victims[].share_consent", "list", "Partage consenti", "Sharing consented",
       "This person's own consent to share with partner categories.", "[un_mechanism]",
       confidential=True),
    _s("victims[].share_consent[]", "term", "Catégorie", "Category", "",
       vocabulary="partner_categories"),
    _s("sources", "list", "Sources (identité)", "Sources (identity)",
       "Who the sources are and how reliable.",
       "[{name: \"…\", connection: witness, reliability: B2}]"),
    _s("sources[]", "mapping", "Source", "Source", ""),
    _s("sources[].name", "text", "Nom", "Name", ""),
    _s("sources[].contact", "text", "Contact", "Contact", ""),
    _s("sources[].connection", "term", "Lien", "Connection", "", "witness",
       vocabulary="source_connection"),
    _s("sources[].reliability", "text", "Fiabilité", "Reliability",
       "Admiralty code: source A–F, information 1–6.", "B2", confidential=True),
    _s("sources[].share_consent", "list", "Partage consenti", "Sharing consented",
       "This source's own consent to share with partner categories.", "[ngo]"),
    _s("sources[].share_consent[]", "term", "Catégorie", "Category", "",
       vocabulary="partner_categories"),
    _s("contacts", "list", "Contacts", "Contacts", "Other ways to reach people.",
       "[{phone: \"+257 …\"}]", confidential=True),
    _s("contacts[]", "any", "Contact", "Contact", ""),
    _s("exact_places", "list", "Lieux exacts", "Exact places",
       "Exact places (a street, a cell, GPS): the public place stays at admin1/admin2.",
       "[\"…\"]", confidential=True),
    _s("exact_places[]", "text", "Lieu exact", "Exact place", ""),
    _s("share_consent", "list", "Partage consenti", "Sharing consented",
       "Partner categories this case may be shared with (`temoin share`).",
       "[un_mechanism, ngo]", confidential=True),
    _s("share_consent[]", "term", "Catégorie", "Category", "",
       vocabulary="partner_categories"),
    _s("verification_log", "list", "Journal de vérification", "Verification log",
       "One entry per verification: date, editor, level, note.", set_by=("verify",)),
    _s("verification_log[]", "any", "Vérification", "Verification", "", set_by=("verify",)),
    _s("interventions", "list", "Interventions", "Interventions",
       "Records of interventions: type, addressee, date, status, response, outcome, "
       "public_summary.", set_by=("intervene",)),
    _s("interventions[]", "any", "Intervention", "Intervention", "", set_by=("intervene",)),
    _s("rejected", "any", "Rejet", "Rejection", "Date, editor and reason of a rejection.",
       set_by=("reject",)),
    _s("merged", "list", "Cas fusionnés", "Merged cases",
       "The private entries of cases merged into this one.", set_by=("merge",)),
    _s("merged[]", "any", "Cas fusionné", "Merged case", "", set_by=("merge",)),
    _s("merged_into", "case_id", "Fusionné dans", "Merged into",
       "On a duplicate: the case that holds its private part now.", set_by=("merge",)),
    _s("date", "date", "Date de fusion", "Merge date", "On a duplicate: when it was merged.",
       set_by=("merge",)),
)

# Other spellings of confidential things: never a public key, whatever the private part
# calls them (`cases.confidential_keys`).
CONFIDENTIAL_ALIASES = frozenset({
    "names", "first_name", "last_name", "surname", "telephone", "exact_place",
    "exact_location", "gps", "coordinates", "latitude", "longitude", "lat", "lon", "raw_text",
    "source_name", "witness_names", "birth_date",
})


# -- what is derived from the table --------------------------------------------------------
def fields(part: str) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS if f.part == part)


BY_PATH: dict[tuple[str, str], Field] = {(f.part, f.path): f for f in FIELDS}
_CHILDREN: dict[tuple[str, str], tuple[Field, ...]] = {}
for _f in FIELDS:
    if not _f.path.endswith("[]"):
        _CHILDREN.setdefault((_f.part, _f.parent), ())
        _CHILDREN[(_f.part, _f.parent)] += (_f,)


def children(path: str, part: str = PUBLIC) -> tuple[Field, ...]:
    """The fields of the mapping at `path` ('' for the top), in table order."""
    return _CHILDREN.get((part, path), ())


def field(path: str, part: str = PUBLIC) -> Field:
    """The field at `path` (list indexes may be numbers or []: victims.0.sex, victims[0].sex).
    KeyError when the table has no such field."""
    spec = re.sub(r"\.(\d+)(?=\.|$)|\[\d+\]", "[]", path)
    return BY_PATH[(part, spec)]


FIELD_ORDER: tuple[str, ...] = tuple(f.key for f in children(""))
REQUIRED: tuple[str, ...] = tuple(f.key for f in children("") if f.required == ALWAYS)
WORKFLOW_KEYS: frozenset[str] = frozenset(f.key for f in children("") if f.workflow)
PRIVATE_KEYS: frozenset[str] = frozenset(
    f.key for f in fields(PRIVATE) if f.confidential) | CONFIDENTIAL_ALIASES


def _protected() -> tuple[tuple[str, ...], ...]:
    out: list[tuple[str, ...]] = []
    for f in fields(PUBLIC):
        if f.editable or "[]" in f.path:
            continue
        if not any(f.path.startswith(".".join(p) + ".") for p in out):
            out.append(tuple(f.path.split(".")))
    return tuple(out)


# Public fields only the workflow commands change (they sign or log the change): `case edit`
# and `case set` refuse to, naming the command (`COMMANDS`).
PROTECTED: tuple[tuple[str, ...], ...] = _protected()
COMMANDS: dict[str, str] = {".".join(p): "/".join(BY_PATH[(PUBLIC, ".".join(p))].set_by)
                            for p in PROTECTED}


def command(name: str, case_id: str) -> str:
    """A `temoin case` command line in backquotes, e.g. `temoin case verify ID --level …`."""
    return f"`temoin case {name} {case_id}{_ARGS.get(name, '')}`"


def fix(path: str, case_id: str, value: str | None = None) -> str:
    """The command that sets the public field `path` of `case_id`, for a refusal to name:
    its workflow command, else `temoin case set ID PATH=VALUE` (a scalar; `value`, else the
    table's example), else `temoin case edit ID`."""
    f = field(path)
    if not f.editable:
        return command(f.set_by[0], case_id)
    example = value if value is not None else f.example
    if f.kind in ("mapping", "list") or "[]" in f.path or not example:
        return command("edit", case_id)
    return f"`temoin case set {case_id} {path}={example}`"
