"""What every command shares: the `temoin` group, its context and the acting editor."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from temoin import __version__
from temoin import config as config_mod
from temoin.config import Config

if TYPE_CHECKING:
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="temoin")
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Organisation repo (default: nearest folder upward with mkdocs.yml).")
@click.option("--gnupghome", envvar="GNUPGHOME", default=None,
              help="GnuPG home holding the keys (default: $GNUPGHOME; never ~/.gnupg).")
@click.pass_context
def main(ctx: click.Context, repo: Path | None, gnupghome: str | None) -> None:
    """Témoin: encrypted testimonies in, a verified, safe bulletin site out."""
    ctx.obj = Context(repo, gnupghome)
