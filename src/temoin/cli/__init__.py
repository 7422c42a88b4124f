"""The `temoin` command line: thin commands that call the core (one submodule per group).

`main` knows its commands by name and module (temoin.cli.common.COMMANDS) and imports a
command's module only when that command runs: a missing module fails loudly then, and
tests/test_cli_startup.py imports every one."""

from __future__ import annotations

from temoin.cli.common import Context, main, pass_ctx

__all__ = ["Context", "main", "pass_ctx"]
