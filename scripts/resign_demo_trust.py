"""Record the demo repository's current site_src/ (and mkdocs.yml, keys/) in its signed trust
root: a new statement proposed by demo Alice and co-signed by demo Bob, with the demo-only
keys of tests/fixtures/demo-keys. Run it after changing a file of site_src/ in this
repository or mkdocs.yml's settings (`temoin build` refuses the demo otherwise, naming
the file). The statement's
date is fixed, so the demo's publication serial and date stay reproducible.

    PYTHONPATH=src python scripts/resign_demo_trust.py
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from temoin import config, keys, trust  # noqa: E402
from temoin.errors import TemoinError  # noqa: E402

ALICE = "F53A565E21A48D6EA551F44E8A48179CDE52CFBF"
BOB = "FB9804A856EBFBEDDB8038ECEB59B3E6EF46CAE1"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="temoin-demo-gpg-") as home:
        Path(home).chmod(0o700)
        kr = keys.Keyring(Path(home))
        for f in sorted((REPO / "tests" / "fixtures" / "demo-keys").glob("*.sec.asc")):
            kr.import_keys(f.read_bytes())
        try:
            path, done = trust.propose(REPO, config.load(REPO), kr, ALICE,
                                       when=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
        except TemoinError as exc:
            print(exc.message)
            return 0
        if not done:
            path, done = trust.sign(REPO, kr, BOB)
        print(f"{path}: {'in force' if done else 'still needs a signature'}")
        return 0 if done else 1


if __name__ == "__main__":
    raise SystemExit(main())
