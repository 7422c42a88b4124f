"""Adversarial review, second round: forms of private values and identifying details that
reached the built site, each written as the attack that shipped it, with real gpg, real
signed decisions and a real `temoin build`.

Two module builds share most of the attacks (a build is the slow part):

* `leaky`: cases whose published text or files carry a private value in a form the canary
  and media gates did not read (coordinates after a comma, digits of another script, a
  minus sign between digit groups, a phone number followed by another, invisible fillers,
  a Markdown line break inside a name, a sub-name beside a dismissed name part, metadata in
  an image the build copies as it is). The build must refuse, naming each file and field.
* `imprecise`: cases whose public texts name an exact age or a place finer than the
  allowed precision outside the fields the precision gate read (intervention summaries,
  tags, captions, institutions), in look-alike letters or lower case, in coordinates, and
  a withdrawn aggregate-only case. Built with refused cases left out: each must be refused
  by the case gate, naming the field, and nothing of it may reach the site.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from temoin import cases, config, keys
from temoin.cli import main
from temoin.curation import canary_dismissal, interventions
from temoin.errors import GateError
from temoin.publish import build as build_mod
from tests.conftest import gpg_agents, kill_agents
from tests.helpers import Org, make_org, site_files

DAY = dt.date(2025, 10, 6)


@dataclass
class Built:
    org: Org
    ids: dict[str, str] = field(default_factory=dict)        # attack -> case id
    findings: list[str] = field(default_factory=list)        # gate refusals (leaky)
    refused: dict[str, list[str]] = field(default_factory=dict)  # case gate (imprecise)
    files: dict[str, bytes] = field(default_factory=dict)    # the site, when it was built


@pytest.fixture(scope="module")
def module_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    """A signed organisation of its own for one module's build (real gpg)."""
    root = tmp_path_factory.mktemp("leaks2")
    home = root / "gnupg"
    home.mkdir(mode=0o700)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GNUPGHOME", str(home))
        mp.setenv("SOURCE_DATE_EPOCH", "1760000000")
        kr = keys.Keyring(home)
        fprs = {"inbox": kr.generate("Inbox", "inbox@example.invalid"),
                "alice": kr.generate("Alice", "alice@example.invalid"),
                "bob": kr.generate("Bob", "bob@example.invalid")}
        yield make_org(root, kr, fprs)
    kill_agents([a for a in gpg_agents() if a.home.is_relative_to(root)])


def _png(text_chunk: bytes | None = None) -> bytes:
    im = Image.new("RGB", (8, 8), (120, 30, 30))
    out = io.BytesIO()
    im.save(out, "PNG")
    data = out.getvalue()
    if text_chunk is None:
        return data
    body = text_chunk
    chunk = struct.pack(">I", len(body)) + b"auTh" + body + struct.pack(
        ">I", zlib.crc32(b"auTh" + body))
    end = data.rfind(b"IEND") - 4
    return data[:end] + chunk + data[end:]


@pytest.fixture(scope="module")
def leaky(module_org: Org) -> Built:
    o = module_org
    b = Built(o)

    def case(name: str, private: dict[str, object], narrative: str) -> cases.Case:
        c = o.add_case(private=private, narrative=narrative)
        b.ids[name] = c.id
        return c

    case("gps", {"gps": "-3.4264, 29.9308"},
         "Les faits ont eu lieu aux coordonnées -3.4264, 29.9308 selon les témoins.")
    case("arabic-digits", {"victims": [{"phone": "+257 79 12 34 56"}]},
         "Il était joignable au \u0667\u0669 \u0661\u0662 \u0663\u0664 \u0665\u0666 selon "
         "sa famille.")
    case("minus-sign", {"victims": [{"phone": "+257 69 12 34 57"}]},
         "Il était joignable au 69\u221212\u221234\u221257 selon sa famille.")
    case("number-list", {"victims": [{"phone": "+257 61 12 34 58"}]},
         "Ses proches donnent deux numéros : 61 12 34 58 / 22 33 44 55.")
    case("hangul-filler", {"victims": [{"name": "Pierre Bizindavyi"}]},
         "Le frère de Bizin\u3164davyi a témoigné.")
    case("variation-selector", {"victims": [{"name": "Luc Havyarimana"}]},
         "Le frère de Havya\ufe0frimana a témoigné.")
    case("hard-break", {"victims": [{"name": "Paul Nshimirimana"}]},
         "Le frère de Nshimi  \nrimana a témoigné.")
    dismissed = case("dismissed-subname", {"victims": [{"name": "Jean Bosco Ntakirutimana"}]},
                     "Le ministre Ntakirutimana a nié les faits. Plus tard, Bosco "
                     "Ntakirutimana a été transféré.")
    canary_dismissal.dismiss(o.repo, o.cfg, o.keyring, dismissed.id, o.alice, "Ntakirutimana",
                             "le ministre de ce nom", DAY)
    # A picture of the about page, hand-written (not a case medium, so not re-encoded):
    # the victim's name in a PNG chunk no metadata list names.
    b.ids["png-chunk"] = case("png-chunk", {"victims": [{"name": "Marc Ndikumasabo"}]},
                              "Un récit sans nom.").id
    assets = o.repo / "site_src" / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    (assets / "equipe.png").write_bytes(_png(b"Marc Ndikumasabo"))
    o.resign_site()
    try:
        build_mod.build(o.repo, config.load(o.repo), keyring=o.keyring,
                        allow_unpublished=False)
        b.files = site_files(o.repo / "site")
    except GateError as exc:
        b.findings = exc.findings
    return b


def _refused(b: Built, attack: str, field_name: str) -> list[str]:
    cid = b.ids[attack]
    return [f for f in b.findings if cid in f and field_name in f]


@pytest.mark.parametrize("attack,field_name", [
    # A comma between two numbers of one private value: the matcher folded the canary a
    # second time, which joined its digit groups, so the page's own form never matched.
    ("gps", "(gps)"),
    # Digits of another script read as the same number.
    ("arabic-digits", "victims.0.phone"),
    # A minus sign (U+2212) is a separator like the hyphen.
    ("minus-sign", "victims.0.phone"),
    # Two numbers in a row join into one run: the first one still counts.
    ("number-list", "victims.0.phone"),
    # Characters that are drawn as nothing, whatever their category.
    ("hangul-filler", "victims.0.name"),
    ("variation-selector", "victims.0.name"),
    # A Markdown hard line break (<br>) inside a name.
    ("hard-break", "victims.0.name"),
    # With a name part dismissed, the rest of the name beside it still blocks.
    ("dismissed-subname", "victims.0.name"),
])
def test_private_value_in_any_writing_stops_the_build(leaky: Built, attack: str,
                                                      field_name: str) -> None:
    assert not leaky.files, "the build shipped a site"
    assert _refused(leaky, attack, field_name), (attack, leaky.findings)


def test_image_copied_as_is_carries_no_unknown_block(leaky: Built) -> None:
    """The media gate names an image block it does not know (a private PNG chunk holding a
    victim's name): only what draws the picture ships."""
    assert not leaky.files
    assert [f for f in leaky.findings if "[media]" in f and "equipe.png" in f], leaky.findings
