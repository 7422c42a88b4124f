"""`temoin doctor`: is this organisation ready to launch, and what fixes what (issue 17).

Each check gives a status, what it found and the command that fixes it. `UNSAFE` findings
make a launch unsafe (sources could not write, a testimony could be read from a taken disk,
one person could publish alone, readers could not tell the site is ours) and the command
exits 1 while one remains; `WARN` findings are worth fixing but do not endanger anyone at
launch (no Git remote yet, the default text editor). Nothing here changes the repository
or unlocks a key: passphrase protection is read from gpg-agent's KEYINFO (`keys.protect`).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from temoin import config as config_mod
from temoin import keys, trust
from temoin.errors import TemoinError
from temoin.files import read_key_file
from temoin.keys import protect
from temoin.scaffold import configure

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.keys import Keyring

OK, WARN, UNSAFE = "ok", "warn", "unsafe"
# The demonstration keys this project publishes with their SECRET parts (fictional data):
# inbox, Alice and Bob of "SOS-Exemple". Any key whose user id says DEMO is one too.
DEMO_KEYS = frozenset({"F88A7266060DF4E8C3604D47E26B810C9EBAAE51",
                       "F53A565E21A48D6EA551F44E8A48179CDE52CFBF",
                       "FB9804A856EBFBEDDB8038ECEB59B3E6EF46CAE1"})
DEMO_MARKS = ("(DEMO", "(DÉMO")


@dataclass(frozen=True)
class Finding:
    """One line of the report: which check, its status, what it found, what fixes it."""

    check: str
    status: str
    what: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return asdict(self)


def ready(findings: list[Finding]) -> bool:
    """No finding makes the launch unsafe."""
    return not any(f.status == UNSAFE for f in findings)


def run(repo: Path, keyring: Keyring | None, env: Mapping[str, str] | None = None,
        site_dir: Path | None = None) -> list[Finding]:
    """Every check, in the order a new organisation meets them."""
    env = os.environ if env is None else env
    repo = Path(repo).resolve()
    out: list[Finding] = []
    try:
        cfg = config_mod.load(repo)
    except TemoinError as exc:
        return [Finding("settings", UNSAFE, f"mkdocs.yml does not load: {exc.message}",
                        "correct mkdocs.yml (`temoin config set SETTING VALUE`)")]
    root = _trust(repo, out)
    out += _contact(repo, cfg, root)
    published = _inbox_key(repo, cfg, keyring, out)
    out += _editors(cfg)
    out += _demo_keys(cfg, published)
    out += _site(repo, cfg, site_dir or repo / "site")
    out += _git(repo)
    out += _text_editor(env)
    return out


def _trust(repo: Path, out: list[Finding]) -> trust.Root | None:
    fix = ("temoin trust propose --editor YOU, then another editor: temoin trust sign "
           "--editor THEM")
    if not trust.chain_files(repo):
        out.append(Finding("trust", UNSAFE, "no signed trust root: nothing can be built or "
                           "published (editors, keys and safety settings are not signed)", fix))
        return None
    notes: list[str] = []
    try:
        root = trust.require(repo, echo=notes.append)
    except TemoinError as exc:
        out.append(Finding("trust", UNSAFE, f"the trust root does not verify: {exc.message}",
                           "see the message; then `temoin trust show`"))
        return None
    out.append(Finding("trust", OK, f"trust root {trust.groups(root.fingerprint[:16])}… "
                       f"verified and pinned (trust/{root.serial:04d}.json)"))
    out += [Finding("trust", WARN, note, "temoin trust show, compared with another editor's")
            for note in notes]  # pinned on first use just now
    if trust.proposed_path(repo).is_file():
        out.append(Finding("trust", WARN, "trust/proposed.json waits for a signature; until "
                           "then the signed root counts", "temoin trust sign --editor THEM"))
    else:
        changed = configure.pending(repo)
        if changed:
            out.append(Finding("trust", WARN, "mkdocs.yml, keys/ or site_src/ differ from the "
                               f"signed trust root ({', '.join(changed)}); the root counts", fix))
    return root


def _contact(repo: Path, cfg: Config, root: trust.Root | None) -> list[Finding]:
    if cfg.contact_email:
        return [Finding("contact", OK, f"contact address {cfg.contact_email}")]
    fix = "temoin config set contact_email ADDRESS"
    wanted = configure.proposed(repo).contact_email
    if root is not None and wanted:
        fix = (f"mkdocs.yml proposes {wanted}: temoin trust propose --editor YOU (if not "
               "done), then another editor: temoin trust sign --editor THEM")
    return [Finding("contact", UNSAFE, "the contact address is empty: sources have no "
                    "address to write to, and the submit page says so", fix)]


def _inbox_key(repo: Path, cfg: Config, keyring: Keyring | None,
               out: list[Finding]) -> list[str]:
    """The inbox key's checks; the user ids of the published key (keys/inbox.asc)."""
    fpr = cfg.inbox_key
    if not fpr:
        out.append(Finding("inbox-key", UNSAFE, "no inbox key: sources cannot encrypt to "
                           "the organisation", "temoin keys generate"))
        return []
    published = repo / "keys" / "inbox.asc"
    if not published.is_file():
        out.append(Finding("inbox-key", UNSAFE, f"keys/inbox.asc is missing (inbox key "
                           f"{fpr})", "temoin keys export > keys/inbox.asc"))
        return []
    with keys.public_keyring([published]) as kr:
        uids = [u for k in kr.list() if k.fingerprint == fpr for u in k.uids]
        unfit = kr.unfit(fpr, "e")
    if unfit:
        out.append(Finding("inbox-key", UNSAFE, f"inbox key {fpr}: " + "; ".join(unfit),
                           "temoin keys generate, then temoin trust propose/sign"))
    if cfg.contact_email and not any(f"<{cfg.contact_email.lower()}>" in u.lower()
                                     for u in uids):
        out.append(Finding("key-address", UNSAFE, f"the inbox key's user id does not hold "
                           f"{cfg.contact_email} (it says {'; '.join(uids) or 'nothing'}): a "
                           "source's mail client cannot find the key for the address",
                           "temoin keys add-uid"))
    elif cfg.contact_email:
        out.append(Finding("key-address", OK, f"the inbox key's user id holds "
                           f"{cfg.contact_email}"))
    out.append(_passphrase(fpr, keyring))
    return uids


def _passphrase(fpr: str, keyring: Keyring | None) -> Finding:
    here = "run `temoin doctor` on the offline machine, with GNUPGHOME set to its keyring"
    if keyring is None:
        return Finding("passphrase", WARN, "GNUPGHOME is not set: the inbox key's passphrase "
                       "was not checked", here)
    parts = protect.parts(keyring, fpr)
    if not parts:
        return Finding("passphrase", WARN, f"the inbox secret key is not in {keyring.home}: "
                       "its passphrase was not checked", here)
    clear = [p for p in parts if p.state == protect.CLEAR]
    if clear:
        return Finding("passphrase", UNSAFE, f"the inbox key {fpr[-16:]} has no passphrase: "
                       "whoever copies the disk reads every testimony", "temoin keys protect")
    if any(p.state == protect.UNKNOWN for p in parts):
        return Finding("passphrase", WARN, "gpg-agent could not say whether the inbox key is "
                       "protected", f"gpg --homedir {keyring.home} --passwd {fpr}")
    return Finding("passphrase", OK, "the inbox key is protected by a passphrase")


def _editors(cfg: Config) -> list[Finding]:
    persons = sorted({cfg.person(e.fingerprint) for e in cfg.recipients})
    if len(persons) < 2:
        return [Finding("editors", UNSAFE, f"{len(persons)} editor(s) "
                        f"({', '.join(persons) or 'none'}): four eyes need two persons, or "
                        "one person verifies and approves alone",
                        "temoin keys import EDITOR.asc --as editor (each), then temoin trust "
                        "propose/sign")]
    return [Finding("editors", OK, f"{len(persons)} editors: {', '.join(persons)}")]


def _demo_keys(cfg: Config, inbox_uids: list[str]) -> list[Finding]:
    named = {cfg.inbox_key, cfg.signing_key, *cfg.recipient_fingerprints} - {""}
    demo = sorted(named & DEMO_KEYS)
    if any(m in u.upper() for u in inbox_uids for m in DEMO_MARKS):
        demo.append(f"{cfg.inbox_key} (its user id says DEMO)")
    if demo:
        return [Finding("demo-keys", UNSAFE, "demonstration keys in use, whose secret parts "
                        f"are public: {', '.join(demo)}", "start from `temoin init` with keys "
                        "of your own (temoin keys generate; temoin keys import … --as editor)")]
    return []


def _site(repo: Path, cfg: Config, site: Path) -> list[Finding]:
    rel = site.relative_to(repo) if site.is_relative_to(repo) else site
    build = "temoin build, then copy the site to the web server"
    key = site / "keys" / "inbox.asc"
    if not key.is_file() and not cfg.contact_email:
        return [Finding("site", UNSAFE, f"{rel}/ holds no inbox key: the site publishes it "
                        "only with the contact address", "set the contact address, then "
                        + build)]
    if not key.is_file():
        return [Finding("site", UNSAFE, f"{rel}/ holds no inbox key: the site is not built "
                        "yet, so sources cannot get the key", build)]
    published = read_key_file(key, TemoinError) or b""
    if cfg.inbox_key not in keys.key_fingerprints(published):
        return [Finding("site", UNSAFE, f"{rel}/keys/inbox.asc is not the inbox key "
                        f"{cfg.inbox_key}", build)]
    out = []
    if not (site / "SHA256SUMS.asc").is_file():
        out.append(Finding("site", UNSAFE, f"{rel}/ is not signed (no SHA256SUMS.asc): "
                           "readers and mirrors cannot tell it is yours", "temoin build with "
                           "the inbox (site) secret key in GNUPGHOME"))
    if published != read_key_file(repo / "keys" / "inbox.asc", TemoinError):
        out.append(Finding("site", WARN, f"{rel}/keys/inbox.asc is an older copy of "
                           "keys/inbox.asc (same key)", build))
    check = f"; check the copy online: temoin verify-site {cfg.site_url}" if cfg.site_url \
        else ""
    return out or [Finding("site", OK, f"{rel}/ publishes the inbox key, signed{check}")]


# Options that make git run a command (issue 16, attack round 3): a full copy of a
# repository carries its .git/config, and `git status` ran its `core.fsmonitor`, or the
# clean filter a `.gitattributes` names, on the editor's machine. The repository's own
# config (scope local or worktree, includes followed) may name none of those a status
# reads (options only network commands or a terminal read, such as a credential helper
# or a pager, are not asked for here).
_RUNS_CODE = re.compile(
    r"^(core\.(fsmonitor|hookspath)|filter\..+\.(clean|smudge|process)|diff\.external"
    r"|diff\..+\.(textconv|command)|merge\..+\.driver)$")
# And whatever the user's own config says: no hooks (status may write the index, which runs
# `post-index-change`), no fsmonitor, no optional index writes.
_GIT_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null",
             "--no-optional-locks")


def commands_in_git_config(repo: Path) -> list[str]:
    """The options of `repo`'s own Git config that would make git run a command (read
    without running git on the checkout: `git config` runs nothing)."""
    listed = subprocess.run(["git", "-C", str(repo), "config", "--list", "--show-scope",
                             "--includes"], capture_output=True, text=True, check=False)
    found = []
    for line in listed.stdout.splitlines():
        scope, _tab, item = line.partition("\t")
        key, _eq, value = item.partition("=")
        if scope in ("local", "worktree") and _RUNS_CODE.match(key.lower()) and not (
                key.lower() == "core.fsmonitor" and value.lower() in ("false", "0", "no",
                                                                      "off", "")):
            found.append(key)
    return found


def _git(repo: Path) -> list[Finding]:
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", *_GIT_SAFE, "-C", str(repo), *args], capture_output=True,
                              text=True, check=False)

    odd = commands_in_git_config(repo)
    if odd:
        return [Finding("git", UNSAFE, "the checkout's own Git config names commands git would "
                        f"run ({', '.join(odd)}): not from Témoin; a copied or tampered .git? "
                        "Nothing was asked of git", "read .git/config, remove them (`git config "
                        "--unset KEY`), or clone again from the remote")]
    if git("rev-parse", "--is-inside-work-tree").returncode != 0:
        return [Finding("git", WARN, "not a Git repository: no history of who changed what",
                        "git init && git add -A && git commit -m 'Témoin repository'")]
    out = []
    if git("rev-parse", "--verify", "-q", "HEAD").returncode != 0:
        out.append(Finding("git", WARN, "no Git commit yet", "git add -A && git commit -m "
                           "'Témoin repository'"))
    elif git("status", "--porcelain").stdout.strip():
        out.append(Finding("git", WARN, "changes not committed", "git add -A && git commit"))
    if not git("remote").stdout.strip():
        out.append(Finding("git", WARN, "no Git remote: losing this machine loses the "
                           "history", "git remote add origin URL && git push -u origin HEAD"))
    return out or [Finding("git", OK, "committed, with a remote")]


def _text_editor(env: Mapping[str, str]) -> list[Finding]:
    chosen = env.get("EDITOR") or env.get("VISUAL")
    if chosen:
        return [Finding("text-editor", OK, f"`temoin case edit` opens {chosen}")]
    return [Finding("text-editor", WARN, "EDITOR is not set: `temoin case edit` opens vi, "
                    "the default, with decrypted testimonies", "export EDITOR=nano (in "
                    "~/.profile), or the editor you know")]


Echo = Callable[[str], None]


def report(findings: list[Finding], echo: Echo) -> None:
    """The findings as lines a person reads: status, what, then the fix."""
    for f in findings:
        echo(f"{f.status.upper():<7} {f.what}")
        if f.fix and f.status != OK:
            echo(f"        fix: {f.fix}")
    unsafe = sum(f.status == UNSAFE for f in findings)
    warn = sum(f.status == WARN for f in findings)
    if unsafe:
        echo(f"Not ready to launch: {unsafe} unsafe, {warn} warning(s).")
    else:
        echo(f"Ready to launch ({warn} warning(s)).")
