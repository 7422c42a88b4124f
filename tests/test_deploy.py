"""docs/deploy.md: the nginx snippet is the one shown and nginx accepts it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SNIPPET = REPO_ROOT / "docs" / "deploy" / "temoin-headers.conf"


def test_deploy_page_shows_the_snippet() -> None:
    page = (REPO_ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert SNIPPET.read_text(encoding="utf-8") in page
    for header in ("frame-ancestors", "X-Content-Type-Options", "Strict-Transport-Security",
                   "Referrer-Policy"):
        assert header in page


def test_nginx_snippet_parses(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    if nginx is None:
        pytest.skip("nginx is not installed")
    (tmp_path / "logs").mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"""pid {tmp_path}/nginx.pid;
error_log {tmp_path}/logs/error.log;
events {{}}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:8080;
        root {tmp_path};
        include {SNIPPET};
    }}
}}
""", encoding="utf-8")
    done = subprocess.run([nginx, "-t", "-c", str(conf), "-p", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
