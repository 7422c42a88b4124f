"""The `temoin` command line: thin commands that call the core (one submodule per group).

Each command module is imported by name: a missing one fails loudly, never drops a
command silently."""

from __future__ import annotations

from temoin.cli import (  # noqa: F401 - each module registers its commands on `main`
    case,
    config,
    demo,
    doctor,
    export,
    fetch,
    inbox,
    keys,
    repo,
    schema,
    share,
    status,
    trust,
    verify,
)
from temoin.cli.common import Context, main, pass_ctx

__all__ = ["Context", "main", "pass_ctx"]
