"""The bare-MkDocs baseline: the same number of pages, each of the same Markdown size as the
page Témoin renders at that path, with the same theme settings (Material, overrides,
palette, features, Markdown extensions, search in fr+en), no temoin plugin, pages out of
`nav:` like Témoin's. What `temoin build` adds on top of this is Témoin's own cost.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import yaml

TEXT = ("les faits se seraient produits en fin de journée selon deux sources concordantes "
        "entendues séparément par notre équipe la famille craint des représailles aucune "
        "enquête n'a été ouverte à notre connaissance les autorités locales n'ont pas "
        "répondu province commune colline police militaires agents arrestation détention "
        "torture menaces témoin certificat médical avocat tribunal prison")
WORDS = TEXT.split()


def text_of(length: int, rng: random.Random) -> str:
    """Plain Markdown paragraphs of about `length` characters."""
    out: list[str] = []
    size = 0
    while size < length:
        para = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))).capitalize()
        out.append(para + ".")
        size += len(para) + 3
    return "\n\n".join(out)[:max(length, 1)]


def make(repo: Path, dest: Path, pages: list[tuple[str, int]]) -> Path:
    """Write `dest/mkdocs.yml` and `dest/docs/` for the given (path, size) pages."""
    shutil.rmtree(dest, ignore_errors=True)
    docs = dest / "docs"
    src = repo / "site_src"
    shutil.copytree(src / "overrides", docs / "overrides")
    shutil.copytree(src / "assets", docs / "assets")
    rng = random.Random(1)
    for path, size in pages:
        f = docs / path
        f.parent.mkdir(parents=True, exist_ok=True)
        title = f"Page {path}"
        f.write_text(f"# {title}\n\n{text_of(size - len(title) - 4, rng)}\n", encoding="utf-8")
    cfg = yaml.safe_load((repo / "mkdocs.yml").read_text(encoding="utf-8"))
    theme = dict(cfg["theme"])
    theme["custom_dir"] = "docs/overrides"
    nav = [{k: v} for item in cfg.get("nav") or [] for k, v in item.items()
           if (docs / v).exists()]
    # What the temoin plugin puts in `extra` for the theme overrides (same page weight).
    opts = next(p["temoin"] for p in cfg["plugins"] if isinstance(p, dict) and "temoin" in p)
    fpr = str(opts.get("inbox_key") or "")
    extra = {**cfg.get("extra", {}), "generator": False,
             "temoin": {"organisation": opts.get("organisation"), "fingerprint": fpr,
                        "fingerprint_groups": " ".join(fpr[i:i + 4]
                                                       for i in range(0, len(fpr), 4))}}
    theme["font"] = False
    out = {
        "site_name": cfg["site_name"], "docs_dir": "docs", "use_directory_urls": True,
        "theme": theme, "extra": extra,
        "extra_css": cfg.get("extra_css", []),
        "markdown_extensions": cfg.get("markdown_extensions", []),
        "exclude_docs": "/overrides/\n", "not_in_nav": "/cases/\n/en/\n",
        "nav": nav, "plugins": [{"search": {"lang": ["fr", "en"]}}],
    }
    (dest / "mkdocs.yml").write_text(yaml.safe_dump(out, allow_unicode=True, sort_keys=False),
                                     encoding="utf-8")
    return dest
