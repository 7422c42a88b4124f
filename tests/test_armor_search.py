"""armor.line_search finds exactly what the regex search it replaces found (issue 18)."""

from __future__ import annotations

import random
import re

from temoin.intake import armor

PIECES = ["-----BEGIN PGP MESSAGE-----", "-----END PGP MESSAGE-----",
          "-----BEGIN PGP SIGNED MESSAGE-----", "-----END PGP SIGNATURE-----",
          "-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----",
          "-----BEGIN PGP ", "-----END PGP ", "-----", " ", "\t", "\n", "\n", "\n", "x",
          "hQEMA", "=", "> ", "\r"]


def test_line_search_matches_the_regex_search_on_hostile_layouts() -> None:
    rng = random.Random(18)
    kinds = ["MESSAGE", "SIGNATURE", "PUBLIC KEY BLOCK"]
    patterns = [(armor._ARMOR, "-----BEGIN PGP ")] + [
        (re.compile(rf"^[ \t]*-----END PGP {k}-----[ \t]*$", re.MULTILINE),
         f"-----END PGP {k}-----") for k in kinds]
    found = 0
    for _ in range(20000):
        text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 30)))
        pos = rng.randint(0, len(text))
        for pattern, literal in patterns:
            want = pattern.search(text, pos)
            got = armor.line_search(pattern, literal, text, pos)
            assert (got and (got.span(), got.groups())) == (want and (want.span(),
                                                                      want.groups())), \
                (text, pos, pattern.pattern)
            found += want is not None
    assert found > 1000  # the layouts do hold blocks, at every kind of place
