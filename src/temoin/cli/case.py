"""`temoin case …`: listing and showing cases (curation commands join this group)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import click

from temoin import cases as cases_mod
from temoin.cases import vocab
from temoin.cli.common import Context, Lazy, LazyGroup, pass_ctx
from temoin.curation import consent, editing, editors, interventions, worklist
from temoin.curation import steps as workflow


def to_json(value: Any) -> Any:
    """Front matter values as JSON-ready data (dates as ISO strings)."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def public_json(case: cases_mod.Case, repo: Any) -> dict[str, Any]:
    data: dict[str, Any] = to_json(case.meta)
    data["path"] = str(case.stored_path.relative_to(repo))
    return data


# `case intervene` lives with the other commands of issue 9 (temoin.cli.share), whose
# imports `case list` does not need.
MORE = {"intervene": Lazy("temoin.cli.share", "intervene", "Record an intervention on "
                          "CASE_ID (or, with --update, its response or outcome).")}


@click.group("case", cls=LazyGroup, table=MORE)
def case() -> None:
    """List, show and curate cases."""


@case.command("list")
@click.option("--status", type=click.Choice(list(vocab.terms("status"))), multiple=True,
              help="Only cases in this state (repeatable).")
@click.option("--level", type=click.Choice(list(vocab.terms("verification"))), multiple=True,
              help="Only cases at this verification level (repeatable).")
@click.option("--urgent", is_flag=True, help="Only urgent cases.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Event on or after this date (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Event on or before this date (YYYY-MM-DD).")
@click.option("--place", default=None, help="Province/region (admin1) name or code.")
@click.option("--type", "act", type=click.Choice(list(vocab.terms("acts"))), multiple=True,
              help="Only cases with this act type (repeatable).")
@click.option("--waiting", is_flag=True,
              help="What waits for whom: verification, approval, publication (urgent first).")
@click.option("--follow-up", is_flag=True,
              help="Interventions awaiting a response past follow_up_days (children and "
                   "survivors of sexual violence first).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@pass_ctx
def list_cases(ctx: Context, status: tuple[str, ...], level: tuple[str, ...], urgent: bool,
               since: dt.datetime | None, until: dt.datetime | None, place: str | None,
               act: tuple[str, ...], waiting: bool, follow_up: bool, as_json: bool) -> None:
    """List cases, newest event first (with --waiting: by what they wait for)."""
    all_cases, problems = cases_mod.load_all(ctx.repo, strict=False)
    filters = worklist.Filters(status, level, urgent, since.date() if since else None,
                               until.date() if until else None, place, act)
    chosen = worklist.select(all_cases, filters, ctx.config)
    if follow_up:
        print_follow_up(ctx, as_json, {c.id for c in chosen})
    elif waiting:
        _list_waiting(ctx, chosen, as_json)
    elif as_json:
        click.echo(json.dumps([public_json(c, ctx.repo) for c in chosen], ensure_ascii=False,
                              indent=1))
    else:
        for c in chosen:
            click.echo(line(c))
        click.echo(f"{len(chosen)} case(s).", err=True)
    for p in problems:
        click.echo(f"warning: {p}", err=True)


def line(c: cases_mod.Case) -> str:
    """One case on one line: id, event date, status, level, title (urgent flagged)."""
    date = c.date.isoformat() if c.date else "????-??-??"
    flag = " URGENT" if c.meta.get("urgent") else ""
    return (f"{c.id}  {date}  {c.status:<9} {c.meta.get('verification', ''):<9} "
            f"{c.title()}{flag}")


def _list_waiting(ctx: Context, chosen: list[cases_mod.Case], as_json: bool) -> None:
    queues = worklist.waiting(chosen, ctx.config, ctx.repo)
    if as_json:
        out = [{**public_json(w.case, ctx.repo), "waiting": {"for": q, "who": w.who}}
               for q, items in queues.items() for w in items]
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for q, items in queues.items():
        click.echo(f"Waiting for {q} ({len(items)}):")
        for w in items:
            click.echo(f"  {line(w.case)}  <- {w.who}")
    if not any(queues.values()):
        click.echo("Nothing waits.", err=True)


@case.command("show")
@click.argument("case_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON only.")
@click.option("--private", is_flag=True,
              help="Also decrypt the confidential part (to the terminal only).")
@pass_ctx
def show(ctx: Context, case_id: str, as_json: bool, private: bool) -> None:
    """Show one case's public part (and, with --private, its confidential part)."""
    if private:
        from temoin.cli.inbox import (
            show_private,  # escapes control and bidi characters on a terminal
        )

        show_private(ctx, case_id, as_json)
        return
    c = cases_mod.load(ctx.repo, case_id)
    data = public_json(c, ctx.repo)
    data["narrative"] = c.narrative
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    click.echo(cases_mod.dumps(c))


# -- curation (issue 4) -----------------------------------------------------------------
def editor_option(f: Any) -> Any:
    """--editor WHO, else $TEMOIN_EDITOR, else the only editor key in GNUPGHOME."""
    return click.option("--editor", "editor_given", envvar="TEMOIN_EDITOR", default=None,
                        metavar="WHO", help="Acting editor: any unambiguous part of a name, "
                        "e-mail or fingerprint (default: $TEMOIN_EDITOR, else the only editor "
                        "key in GNUPGHOME).")(f)


def acting(ctx: Context, given: str | None, keyring: Any = None) -> str:
    if keyring is None and not given:
        keyring = ctx.keyring()
    if keyring is None and ctx.gnupghome:  # e-mails come from the keys, read only if needed
        return editors.acting_editor(ctx.config, None, given, lambda: editors.editor_emails(
            ctx.config, ctx.keyring()))
    return editors.acting_editor(ctx.config, keyring, given)


def say(outcome: workflow.Outcome | editing.EditResult, text: str | None = None) -> None:
    """One line of what happened and what comes next, then any notes."""
    click.echo(text if text is not None else getattr(outcome, "message", ""))
    for note in outcome.notes:
        click.echo(f"  - {note}")


def today() -> dt.date:
    return dt.date.today()


def run_step(ctx: Context, step: Callable[..., workflow.Outcome], case_id: str,
             editor_given: str | None, *args: Any, **kwargs: Any) -> None:
    """Run a curation step that signs or records a decision as the acting editor, dated
    today, and say what it did: `step(repo, config, keyring, case_id, editor, *args, today,
    **kwargs)`."""
    kr = ctx.keyring()
    say(step(ctx.repo, ctx.config, kr, case_id, acting(ctx, editor_given, kr), *args, today(),
             **kwargs))


@case.command("new")
@click.option("--channel", type=click.Choice(workflow.CHANNELS), default="in_person",
              show_default=True, help="How the testimony was taken.")
@click.option("--no-edit", is_flag=True, help="Create the draft without opening $EDITOR.")
@click.option("--consent", "given", type=click.Choice(consent.ORDER), default=None,
              help="The consent the person gave you (the ceiling of the public consent; "
                   "none if not given).")
@click.option("--json", "as_json", is_flag=True, help="Print {id, path} as JSON only.")
@editor_option
@pass_ctx
def new(ctx: Context, channel: str, no_edit: bool, given: str | None, as_json: bool,
        editor_given: str | None) -> None:
    """Create an empty draft case (a testimony taken by phone or in person)."""
    kr = ctx.keyring()
    editor = acting(ctx, editor_given, kr)
    c = workflow.new_case(ctx.repo, ctx.config, kr, editor, channel, today(), given)
    if not no_edit:
        editing.edit(ctx.repo, ctx.config, kr, c.id, editor)
    if as_json:
        click.echo(json.dumps({"id": c.id, "path": str(c.stored_path.relative_to(ctx.repo))}))
        return
    click.echo(f"Created draft {c.id}. Next: `temoin case edit {c.id}`, then `temoin case "
               f"verify {c.id} --level LEVEL`.")


@case.command("edit")
@click.argument("case_id")
@click.option("--only", type=click.Choice(["public", "private"]), default=None,
              help="Open only case.md or only the private part.")
@editor_option
@pass_ctx
def edit(ctx: Context, case_id: str, only: str | None, editor_given: str | None) -> None:
    """Edit case.md and the private part in $EDITOR (plaintext only on tmpfs, then wiped).

    The editor must not return before you quit it (for a GUI: EDITOR='code --wait')."""
    kr = ctx.keyring()
    res = editing.edit(ctx.repo, ctx.config, kr, case_id, acting(ctx, editor_given, kr), only)
    parts = [p for p, ch in (("case.md", res.public_changed),
                             ("private part (re-encrypted)", res.private_changed)) if ch]
    say(res, f"Saved {case_id}: {' and '.join(parts)}. Next: `temoin case verify {case_id} "
        "--level LEVEL`." if parts else f"No change to {case_id}.")


@case.command("set")
@click.argument("case_id")
@click.argument("assignments", nargs=-1, metavar="PATH=VALUE…")
@click.option("--private", is_flag=True, help="Set fields of the encrypted private part.")
@editor_option
@pass_ctx
def set_(ctx: Context, case_id: str, assignments: tuple[str, ...], private: bool,
         editor_given: str | None) -> None:
    """Set fields without an editor: dotted paths, YAML values (e.g. consent=anonymised,
    event.location.admin1=Gitega, --private victims.0.full_name="…")."""
    kr = ctx.keyring() if ctx.gnupghome else None
    editor = acting(ctx, editor_given, kr)
    res = editing.set_fields(ctx.repo, ctx.config, kr, case_id, list(assignments), editor,
                             private)
    where = "private part (re-encrypted)" if private else "case.md"
    say(res, f"Set {len(assignments)} field(s) in {case_id}'s {where}.")


@case.command("review")
@click.argument("case_id")
@editor_option
@pass_ctx
def review(ctx: Context, case_id: str, editor_given: str | None) -> None:
    """Send a draft for review (draft -> review)."""
    say(workflow.to_review(ctx.repo, ctx.config, case_id, acting(ctx, editor_given)))


@case.command("reopen")
@click.argument("case_id")
@editor_option
@pass_ctx
def reopen(ctx: Context, case_id: str, editor_given: str | None) -> None:
    """Take a case in review, or a rejected one, back to draft."""
    say(workflow.reopen(ctx.repo, ctx.config, case_id, acting(ctx, editor_given)))


@case.command("risk-review")
@click.argument("case_id")
@click.option("--acknowledge-quotes", is_flag=True,
              help="Accept every run of 8+ words the public text shares with the testimony "
                   "(as `case publish` lists them).")
@editor_option
@pass_ctx
def risk_review(ctx: Context, case_id: str, acknowledge_quotes: bool,
                editor_given: str | None) -> None:
    """Sign today's review of the risks of publishing (to victims, sources, witnesses)."""
    run_step(ctx, workflow.risk_review, case_id, editor_given,
             acknowledge_quotes=acknowledge_quotes)


@case.command("urgent")
@click.argument("case_id")
@click.option("--lift", is_flag=True, help="Lift the alert instead of raising it.")
@editor_option
@pass_ctx
def urgent(ctx: Context, case_id: str, lift: bool, editor_given: str | None) -> None:
    """Raise (or --lift) a case's urgent alert, signed by the acting editor."""
    run_step(ctx, workflow.urgent, case_id, editor_given, on=not lift)


@case.command("verify")
@click.argument("case_id")
@click.option("--level", required=True, type=click.Choice(list(vocab.terms("verification"))),
              help="Verification level (received < recorded < credible < verified < "
                   "confirmed; or disputed, refuted).")
@click.option("--note", default=None, help="Why (kept in the encrypted verification log).")
@editor_option
@pass_ctx
def verify(ctx: Context, case_id: str, level: str, note: str | None,
           editor_given: str | None) -> None:
    """Set the verification level, signed by the acting editor."""
    run_step(ctx, workflow.verify, case_id, editor_given, level, note)


@case.command("approve")
@click.argument("case_id")
@editor_option
@pass_ctx
def approve(ctx: Context, case_id: str, editor_given: str | None) -> None:
    """Approve the verified content, signed by a second editor (four eyes)."""
    run_step(ctx, workflow.approve, case_id, editor_given)


@case.command("publish")
@click.argument("case_id")
@editor_option
@pass_ctx
def publish(ctx: Context, case_id: str, editor_given: str | None) -> None:
    """Publish if every gate condition holds (exit 4 listing each missing one)."""
    ctx.require_trust()
    run_step(ctx, workflow.publish, case_id, editor_given)


@case.command("consent")
@click.argument("case_id")
@click.option("--ceiling", required=True, type=click.Choice(consent.ORDER),
              help="The consent the source gave (the most the public consent may be).")
@click.option("--how", required=True, type=click.Choice(consent.HOW),
              help="How it was obtained.")
@click.option("--given-by", required=True, type=click.Choice(consent.GIVEN_BY),
              help="Who gave it.")
@click.option("--obtained", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="When it was given (YYYY-MM-DD; default today).")
@editor_option
@pass_ctx
def consent_(ctx: Context, case_id: str, ceiling: str, how: str, given_by: str,
             obtained: dt.datetime | None, editor_given: str | None) -> None:
    """Sign a consent statement: the source's consent, how and when it was obtained. It
    replaces the submission form's answer as the ceiling of the public consent."""
    run_step(ctx, workflow.record_consent, case_id, editor_given, ceiling, how, given_by,
             obtained.date() if obtained else today())


@case.command("dismiss")
@click.argument("case_id")
@click.option("--text", default=None,
              help="The exact public text to accept (a named detention site, \"il y a "
                   "quatorze ans\").")
@click.option("--canary", "form", default=None,
              help="One word of a private name that is also a public figure's name, which "
                   "the case's public text names: it may stand there (only there).")
@click.option("--reason", default=None,
              help="With --canary: which public figure (sealed to the editors).")
@editor_option
@pass_ctx
def dismiss(ctx: Context, case_id: str, text: str | None, form: str | None,
            reason: str | None, editor_given: str | None) -> None:
    """Mark a place or an age the precision gate refuses as public (--text), or a name
    part the canary gate refuses as a public figure's name in this case's text
    (--canary … --reason …), by a signed decision."""
    if (text is None) == (form is None):
        raise click.UsageError("give --text TEXT (precision) or --canary WORD (canary)")
    if form is not None and not reason:
        raise click.UsageError("--canary needs --reason (which public figure bears the name)")
    if form is None:
        run_step(ctx, workflow.dismiss, case_id, editor_given, str(text))
        return
    from temoin.curation import canary_dismissal  # the gates: not for every `case` command

    kr = ctx.keyring()
    editor = acting(ctx, editor_given, kr)
    ctx.require_trust()
    click.echo(canary_dismissal.dismiss(ctx.repo, ctx.config, kr, case_id, editor, form,
                                        str(reason), today()))


@case.command("withdraw")
@click.argument("case_id")
@click.option("--reason", required=True, help="Why (PUBLIC: the erratum shows it).")
@click.option("--reason-en", default=None, help="English reason (default: --reason).")
@editor_option
@pass_ctx
def withdraw(ctx: Context, case_id: str, reason: str, reason_en: str | None,
             editor_given: str | None) -> None:
    """Withdraw a case: the next build drops it and its totals (erratum)."""
    run_step(ctx, workflow.withdraw, case_id, editor_given, reason, reason_en)


@case.command("reject")
@click.argument("case_id")
@click.option("--reason", required=True, help="Why (kept in the encrypted private part).")
@editor_option
@pass_ctx
def reject(ctx: Context, case_id: str, reason: str, editor_given: str | None) -> None:
    """Reject a draft or a case in review."""
    run_step(ctx, workflow.reject, case_id, editor_given, reason)


@case.command("merge")
@click.argument("case_id")
@click.argument("into")
@editor_option
@pass_ctx
def merge(ctx: Context, case_id: str, into: str, editor_given: str | None) -> None:
    """Merge CASE_ID (another testimony of the same event) into INTO."""
    run_step(ctx, workflow.merge, case_id, editor_given, into)


def print_follow_up(ctx: Context, as_json: bool, only: set[str] | None = None) -> None:
    """Interventions awaiting a response past follow_up_days, children and survivors of
    sexual violence first (ids, types and dates only: addressees stay in the private part)."""
    cfg = ctx.config
    found = interventions.overdue(ctx.repo, cfg, ctx.keyring(), only=only)
    if as_json:
        click.echo(json.dumps([f.as_json() for f in found], ensure_ascii=False, indent=1))
        return
    for f in found:
        flag = ("!" + ",".join(f.priority)) if f.priority else ""
        click.echo(f"{f.case_id}  {f.intervention:<4} {f.type:<18} {f.status:<8} "
                   f"{f.date.isoformat()}  {f.days:>4} days  {flag}")
    click.echo(f"{len(found)} intervention(s) await a response for more than "
               f"{cfg.follow_up_days} days; see `temoin case show ID --private` for who to "
               "chase, then record the answer with `temoin case intervene ID --update IID "
               "--response …`.", err=True)
