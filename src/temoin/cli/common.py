"""What every command shares: the `temoin` group, its context and the acting editor."""

from __future__ import annotations

import difflib
import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from temoin import __version__

if TYPE_CHECKING:
    from temoin.config import Config
    from temoin.keys import Keyring
    from temoin.trust import Root


class Context:
    """What every command shares: where the repo is, loaded on first use."""

    def __init__(self, repo: Path | None, gnupghome: str | None) -> None:
        self._repo = repo
        self.gnupghome = gnupghome
        self._config: Config | None = None
        self._root: Root | None = None
        self._passphrase: str | None = None

    @property
    def repo(self) -> Path:
        if self._repo is None:
            from temoin import config as config_mod  # YAML: not for `temoin --help`

            self._repo = config_mod.find_repo()
        return self._repo.resolve()

    @property
    def config(self) -> Config:
        """The settings, their keys and safety settings from the trust root. Every command
        reads them here, so none uses a trust statement it has not verified (issue 16): once
        the repository has a trust root (or this checkout was pinned), it is verified and
        checked against the pin first (exit 3), whatever the command: an unsigned statement
        must not choose the recipients `case edit` encrypts to or what `export` publishes."""
        if self._config is None:
            from temoin import config as config_mod
            from temoin import trust

            if trust.expected(self.repo):
                self.require_trust()
            self._config = config_mod.load(self.repo)
        return self._config

    def require_trust(self) -> Root:
        """The verified, pinned trust root (issue 16): build, ingest, publish and share
        refuse to run on an unsigned or unverifiable one (exit 3, naming what is wrong)."""
        from temoin import trust

        if self._root is None:
            self._root = trust.require(self.repo,
                                       echo=lambda text: click.echo(text, err=True))
        return self._root

    def keyring(self, ask: bool = True) -> Keyring:
        """GNUPGHOME's keyring, with the passphrase of TEMOIN_PASSPHRASE_FILE; without that
        file, on a terminal, and when a secret key there is protected, the passphrase is
        asked once (not shown, kept in memory for this command only). `ask=False` for
        commands that never unlock a key."""
        from temoin import keys
        from temoin.keys import protect

        kr = keys.open_keyring(self.gnupghome)
        if ask and kr.passphrase is None:
            if self._passphrase is None and sys.stdin.isatty() and protect.any_protected(kr):
                self._passphrase = click.prompt("Passphrase of the keys in GNUPGHOME (not "
                                                "shown)", hide_input=True, err=True)
            kr.passphrase = self._passphrase or None
        return kr


pass_ctx = click.make_pass_decorator(Context)


@dataclass(frozen=True)
class Lazy:
    """Where a command is defined, and the first sentence of its help for `--help`."""

    module: str
    attr: str
    summary: str

    def load(self) -> click.Command:
        """Import the command's module (an ImportError propagates: never a silent skip)."""
        cmd = getattr(importlib.import_module(self.module), self.attr)
        if not isinstance(cmd, click.Command):
            raise TypeError(f"{self.module}.{self.attr} is not a click command")
        return cmd


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs.

    Every `temoin` call used to import every command module, and with them MkDocs, Material,
    the gates and PIL: about 0.8 s of CPU before `temoin case list` did anything. `table`
    names each command's module (a static table, no discovery); `--help` lists the commands
    from their summaries there without importing them. tests/test_cli_startup.py imports
    every entry and checks its name and summary: the table cannot drift from the commands."""

    def __init__(self, *args: Any, table: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table = dict(table)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.table})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.table.get(cmd_name)
        return super().get_command(ctx, cmd_name) if entry is None else entry.load()

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        names = self.list_commands(ctx)
        if args and args[0] not in names and not args[0].startswith("-") \
                and not ctx.resilient_parsing:  # click would suggest from loaded ones only
            near = difflib.get_close_matches(args[0], names, n=1)
            ctx.fail(f"No such command {args[0]!r}."
                     + (f" Did you mean {near[0]!r}?" if near else ""))
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)  # as click's own
        rows = []
        for name in names:
            entry = self.table.get(name)
            cmd = (self.commands[name] if entry is None
                   else click.Command(name, help=entry.summary))
            rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


COMMANDS = {
    "build": Lazy("temoin.cli.repo", "build", "Build the public site, run every publication "
                  "gate, sign the manifest."),
    "case": Lazy("temoin.cli.case", "case", "List, show and curate cases."),
    "check": Lazy("temoin.cli.repo", "check", "Validate the whole repo: settings, cases, "
                  "workflow, signatures, custody log; with an editor key, the repository-level "
                  "publication gates too (each skipped one is named)."),
    "config": Lazy("temoin.cli.config", "config_group", "Show and change the settings "
                   "(mkdocs.yml; the safety settings through the signed trust root)."),
    "demo": Lazy("temoin.cli.demo", "demo", "Run the whole pipeline on fictional testimonies: "
                 "keys, encrypted inbox, ingest, curation by two editors, build."),
    "doctor": Lazy("temoin.cli.doctor", "doctor", "Check that the organisation is ready to "
                   "launch: contact address, inbox key (its passphrase, its address), two "
                   "editors, the signed trust root, the key on the built site, Git, the text "
                   "editor."),
    "export": Lazy("temoin.cli.export", "export", "Open data: one row per victim and act "
                   "type, public fields only."),
    "fetch": Lazy("temoin.cli.fetch", "fetch_command", "Copy new messages into inbox/ as "
                  "<sha256>.eml, never decrypting them."),
    "ingest": Lazy("temoin.cli.inbox", "ingest_command", "Decrypt every submission in inbox/ "
                   "(or FILE…) into draft cases."),
    "init": Lazy("temoin.cli.repo", "init", "Create a new organisation repository in "
                 "DIRECTORY."),
    "keys": Lazy("temoin.cli.keys", "keys_group", "Generate, import, export and list keys "
                 "(public parts go under keys/)."),
    "migrate": Lazy("temoin.cli.repo", "migrate", "Seal unpublished cases and custody, give "
                    "drafts unlinkable ids and evidence keyed names, sign the confidential "
                    "parts written before they were signed and chain the decisions (issue 16); "
                    "says how to rewrite Git history, which still holds the old plaintext."),
    "receipt": Lazy("temoin.cli.share", "receipt_cmd", "Show what a dossier contained, from "
                    "its signed receipt (nothing is decrypted)."),
    "schema": Lazy("temoin.cli.schema", "schema_command", "Print every case field (public and "
                   "private) with its allowed values."),
    "serve": Lazy("temoin.cli.repo", "serve", "Local preview with live reload: published "
                  "cases only, as in the real build."),
    "share": Lazy("temoin.cli.share", "share_cmd", "Build an encrypted, signed dossier of "
                  "CASE_IDS for a partner, honouring consent."),
    "status": Lazy("temoin.cli.status", "status", "One screen: inbox waiting, quarantine, "
                   "cases by state, what waits for whom."),
    "trust": Lazy("temoin.cli.trust", "trust", "The signed trust root: editors, keys and "
                  "safety settings, pinned on this machine."),
    "verify-site": Lazy("temoin.cli.verify", "verify_site", "Check SITE (a folder, a file:// "
                        "URL or an https:// mirror) against its SHA256SUMS, the signature in "
                        "SHA256SUMS.asc and its publication record."),
}


@click.group(cls=LazyGroup, table=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="temoin")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Organisation repo (default: nearest folder upward with mkdocs.yml).")
@click.option("--gnupghome", envvar="GNUPGHOME", default=None,
              help="GnuPG home holding the keys (default: $GNUPGHOME; never ~/.gnupg).")
@click.pass_context
def main(ctx: click.Context, repo: Path | None, gnupghome: str | None) -> None:
    """Témoin: encrypted testimonies in, a verified, safe bulletin site out."""
    ctx.obj = Context(repo, gnupghome)
