"""`temoin fetch`: copy new mail into inbox/, the online side of the pipeline.

Fetch never decrypts and never parses a message: it streams bytes to a temporary file in
inbox/, fsyncs, and renames it to `<sha256>.eml` (so the same message twice is one file).
Order is what makes an interrupted run harmless: the file is on disk before its custody
entry, both before the mailbox state records the message, and all three before the message
may leave the server (`--move-to`). A re-run picks up wherever the last one stopped.

Known messages are those custody already names (any entry with that `submission`), so a
message that was fetched, ingested and purged long ago is not resurrected by a re-scan.

Bounded by construction: a message over `max_submission_bytes` is never stored. Its declared
size (IMAP RFC822.SIZE, a local file's size) refuses it before a byte is read; a server that
declares less and sends more is cut at the limit plus one byte. Either way the message stays
where it is, with a custody `refused` entry and a `.reason` file in inbox/quarantine/ (a few
hundred bytes, whatever the message's size). A server that breaks a protocol bound (see
`imap.BoundedIMAP`) is given up on with a custody `fetch_refused` entry.
"""

from __future__ import annotations

import imaplib
from pathlib import Path

from temoin import custody, files
from temoin.config import Config
from temoin.intake import imap
from temoin.intake.fetch_inbox import INBOX, LOCK, Inbox, Summary, TooLarge
from temoin.intake.imap import (
    DEADLINE,
    TIMEOUT,
    FetchError,
    ServerRefused,
    UrlError,
    password_from_env,
)
from temoin.intake.mailboxes import fetch_maildir, fetch_mbox

__all__ = ["FetchError", "UrlError", "TooLarge", "Summary", "Inbox", "fetch_imap",
           "fetch_maildir", "fetch_mbox", "password_from_env"]


# -- IMAP ------------------------------------------------------------------------------------
def fetch_imap(cfg: Config, url: str, password: str | None = None, *,
               move_to: str | None = None, ca_file: Path | None = None, starttls: bool = False,
               timeout: float = TIMEOUT, deadline: float = DEADLINE) -> Summary:
    """Copy the new messages of an IMAP mailbox into inbox/; with `move_to`, then move every
    message already saved into that folder. `password` defaults to `password_from_env()`.
    `timeout`: seconds of silence, `deadline`: seconds for one message (or command), before
    the server is given up on."""
    target = imap.parse_url(url)
    if move_to is not None:
        imap.check_folder(move_to, "--move-to")
        if move_to == target.mailbox:
            raise UrlError(f"--move-to {move_to!r} is the mailbox being fetched")
    if target.scheme == "imap" and not starttls:
        raise UrlError("imap:// would send the password and the messages in clear: use "
                       "imaps://, or add --starttls to upgrade the connection first")
    if password is None:
        password = password_from_env()
    inbox = Inbox(cfg)
    summary = Summary(target.key, "imap", move_to=move_to or "")
    with files.lock(inbox.root / LOCK, "temoin fetch"):
        inbox.clean_parts()
        try:
            client = imap.connect(target, password, ca_file, starttls, timeout, deadline)
            try:
                _session(client, target, inbox, summary, move_to)
            finally:
                imap.close(client)
        except ServerRefused as exc:
            raise _gave_up(inbox, target, summary, exc) from None
        except imap.MALFORMED as exc:  # parsing what the server sent, wherever it failed
            raise _gave_up(inbox, target, summary,
                           imap.malformed("(it could not be parsed)", exc)) from None
        except imaplib.IMAP4.abort as exc:
            raise _lost(target, summary, exc) from exc
        except imaplib.IMAP4.error as exc:
            raise FetchError(f"{target.key}: {exc}") from exc
        except (OSError, EOFError) as exc:  # ssl.SSLError, resets are OSErrors
            raise _lost(target, summary, exc) from exc
    return summary


def _lost(target: imap.ImapUrl, summary: Summary, exc: BaseException) -> FetchError:
    return FetchError(f"connection to {target.host}:{target.port} lost ({exc or type(exc)}) "
                      f"after {len(summary.new)} new message(s) were saved; run the same "
                      "`temoin fetch` again: nothing saved is lost and nothing is fetched twice")


def _gave_up(inbox: Inbox, target: imap.ImapUrl, summary: Summary,
             exc: ServerRefused) -> FetchError:
    """Log that the server was given up on, and say what to do."""
    custody.append(inbox.repo, "fetch_refused", channel="imap", reason=exc.reason)
    then = ("run the same `temoin fetch` again later" if exc.stalled else
            "the server, or something between it and this machine, is broken or hostile: "
            "tell its administrator; a message it sent too much of is recorded in "
            f"{INBOX}/quarantine/ and skipped from now on")
    return FetchError(f"gave up on {target.host}:{target.port}: {exc.reason}; "
                      f"{len(summary.new)} new message(s) were saved before; {then}")


def _session(client: imap.BoundedIMAP, target: imap.ImapUrl, inbox: Inbox, summary: Summary,
             move_to: str | None) -> None:
    caps = imap.capabilities(client)
    move = None
    if move_to is not None:
        exists = imap.ok(f"listing {move_to}", client.list('""', imap.quoted(move_to)))
        if not any(exists):
            imap.ok(f"creating folder {move_to}", client.create(imap.quoted(move_to)))
        move = imap.mover(client, move_to, caps)
    typ, data = client.select(imap.quoted(target.mailbox), readonly=move is None)
    if typ != "OK":
        raise FetchError(f"{target.key}: cannot open mailbox {target.mailbox!r} "
                         f"({data[-1]!r}); check its name")
    validity = (client.response("UIDVALIDITY")[1] or [None])[-1]
    uidvalidity = 0 if validity is None else imap.number(validity, "UIDVALIDITY")
    found = imap.ok("searching", client.uid("SEARCH", "ALL"))[0]
    if found is not None and not isinstance(found, bytes):
        raise imap.malformed("to SEARCH (a literal where UIDs belong)")
    present = {imap.number(u, "a UID in the SEARCH answer") for u in (found or b"").split()}
    sources = inbox.load_state()
    mine = sources.get(target.key) or {}
    # Another UIDVALIDITY means UIDs were renumbered: forget them and re-scan; the sha256
    # names and custody make the re-scan idempotent.
    done = imap.parse_seqset(str(mine.get("uids", ""))) \
        if mine.get("uidvalidity") == uidvalidity else set()
    done &= present
    summary.known += len(done)  # fetched by an earlier run, not read again

    def remember() -> None:
        sources[target.key] = {"uidvalidity": uidvalidity, "uids": imap.seqset(done)}
        inbox.save_state(sources)

    remember()
    if move is not None and done:  # saved by an earlier run that stopped before moving
        move(set(done))
        summary.moved += len(done)
        present -= done  # gone from the mailbox
        done.clear()
    for uid in sorted(present - done):
        source = f"{target.key};UIDVALIDITY={uidvalidity};UID={uid}"
        if inbox.blocked(source):
            summary.still_refused += 1
            continue
        if _fetch_one(client, uid, source, target, inbox, summary) is None:
            continue
        done.add(uid)
        remember()  # only now: the file and its custody entry are on disk
        if move is not None:
            move({uid})
            summary.moved += 1
            done.discard(uid)


def _fetch_one(client: imap.BoundedIMAP, uid: int, source: str, target: imap.ImapUrl,
               inbox: Inbox, summary: Summary) -> str | None:
    """Save message `uid` within one deadline, or refuse it (left on the server): unread
    when its declared size is over the limit, cut at the limit plus one byte when the
    server sends more. Its sha256 if saved."""
    where = f"{target.key} (UID {uid})"
    with client.message():
        declared = imap.declared_size(client, uid)
        if declared is None:
            return None  # expunged by someone else since SEARCH
        if declared > inbox.limit:
            inbox.refuse(source, "imap", declared, f"too large: the server declares {declared}"
                         f" bytes, over max_submission_bytes ({inbox.limit})", summary,
                         block=False, where=where)
            return None
        try:
            sha = inbox.save(imap.chunks(client, uid, inbox.limit + 1), "imap", summary)
        except TooLarge as exc:
            inbox.refuse(source, "imap", exc.size, f"the server declared {declared} bytes, "
                         f"then sent more than max_submission_bytes ({inbox.limit})", summary,
                         block=True, where=where)
            return None
        except ServerRefused as exc:
            if not exc.stalled:  # it broke the protocol on this message: skip it next time
                inbox.refuse(source, "imap", declared, exc.reason, summary, block=True,
                             where=where)
            raise
    if sha is not None:
        inbox.accepted(source)
    return sha
