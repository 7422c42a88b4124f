"""Templates run in a sandbox: an override is data, never code (issue 15, hostile inputs).

MkDocs renders the theme and `custom_dir` (site_src/overrides) with a plain Jinja
environment, where `{{ cycler.__init__.__globals__.os.popen('cat ~/.gnupg/…').read() }}`
in a committed override runs any command on the build machine and publishes its output
(encoded, so no canary matches it). Whoever can push a commit could read the passphrase
file, the inbox key or every decrypted private part.

The plugin hands MkDocs this environment instead (`on_env`), before any template is
compiled. Jinja's sandbox refuses attributes starting with `_` (so no `__globals__`,
`__class__`, `mro`…) and methods marked unsafe; that alone is not enough, since a public
method of a reachable object reads files too (`Path.read_text`, `File.content_string` of a
page object, `config.load_file`). So calls are an allow-list, whatever the object:

* the functions the environment offers templates (its globals, e.g. `range`, `dict`,
  `namespace`, gettext) and Jinja's own runtime callables (macros, `super()`, `caller()`,
  `loop()`, `loop.cycle`, cyclers, joiners);
* methods of plain values: str (and Markup), bytes, numbers, list, tuple, dict, set; and
  the read-only mapping methods (`get`, `items`, `keys`, `values`) of any mapping (MkDocs'
  config objects are mappings).

Filters and tests are called by the template engine directly and stay as they are. Any
other call raises `SecurityError`, which stops the build naming the template.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment
from jinja2.bccache import Bucket, BytecodeCache
from jinja2.runtime import BlockReference, LoopContext, Macro, Undefined
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Cycler, Joiner, Namespace
from markupsafe import Markup

_VALUES = (str, bytes, int, float, bool, list, tuple, dict, set, frozenset, Markup,
           Cycler, Joiner, LoopContext, Undefined)
_RUNTIME = (Macro, BlockReference, LoopContext, Cycler, Joiner)
_MAPPING_READS = frozenset({"get", "items", "keys", "values", "__contains__"})


class TemplateSandbox(SandboxedEnvironment):
    """Jinja's sandbox with calls limited as the module says."""

    def is_safe_callable(self, obj: Any) -> bool:
        if not super().is_safe_callable(obj):
            return False
        if isinstance(obj, _RUNTIME) or any(obj is v for v in self.globals.values()):
            return True
        owner = getattr(obj, "__self__", None)
        if owner is None or isinstance(owner, type):
            return obj is Namespace
        if isinstance(owner, _VALUES):
            return True
        return isinstance(owner, Mapping) and getattr(obj, "__name__", "") in _MAPPING_READS


def sandboxed(env: Environment) -> TemplateSandbox:
    """A sandboxed copy of `env` (MkDocs' theme environment): same loader, extensions,
    filters, tests, globals and policies; Jinja's safe `range` kept."""
    if isinstance(env, TemplateSandbox):
        return env
    box = TemplateSandbox(loader=env.loader, auto_reload=False, autoescape=env.autoescape,
                          extensions=[type(e) for e in env.extensions.values()],
                          undefined=env.undefined)
    box.filters.update(env.filters)
    box.tests.update(env.tests)
    box.policies.update(env.policies)
    for name, value in env.globals.items():
        box.globals.setdefault(name, value)
    return box


class CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory between the preview's builds (`temoin serve`):
    MkDocs makes a new environment for every build, which compiled Material's templates
    again each time (~0.7 s a rebuild). Only `TemplateSandbox` environments use it: code
    compiled for a plain environment calls without the sandbox's checks and must never be
    loaded into one. An entry is found only by an environment with the same compiler
    settings, and Jinja loads it only if the template's source has the same checksum (an
    edited override is compiled again) and Jinja and Python are the same."""

    def __init__(self) -> None:
        self._code: dict[tuple[str, str], bytes] = {}

    def keep(self, env: Environment) -> None:
        _settings(env)  # the sandbox only
        env.bytecode_cache = self

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get((_settings(bucket.environment), bucket.key))
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[(_settings(bucket.environment), bucket.key)] = bucket.bytecode_to_string()


def _settings(env: Environment) -> str:
    """What Jinja's lexer and compiler read from `env` (a `TemplateSandbox`)."""
    if not isinstance(env, TemplateSandbox):
        raise TypeError("compiled templates are kept for the template sandbox only")
    return repr((type(env).__qualname__, env.autoescape, sorted(env.extensions),
                 env.undefined, env.finalize, env.optimized,
                 env.block_start_string, env.block_end_string, env.variable_start_string,
                 env.variable_end_string, env.comment_start_string, env.comment_end_string,
                 env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks,
                 env.lstrip_blocks, env.newline_sequence, env.keep_trailing_newline))
