#!/usr/bin/env bash
# make offline-bundle: a folder that installs Témoin on an air-gapped Debian machine.
#
#   scripts/offline_bundle.sh [OUT]     (default dist/temoin-offline)
#   PYTHON=...  the offline machine's Python (default Debian's /usr/bin/python3): the wheels are
#               resolved for its exact version (pymdown-extensions wants >= 3.11.5, Debian 12
#               has 3.11.2)
#
# OUT/wheels/    Témoin's wheel (its vendored OpenPGP.js, MkDocs theme overrides and data
#                inside) and a wheel of every runtime dependency, nothing for tests
# OUT/install.sh checks SHA256SUMS, then `pip install --no-index` from wheels/ into a venv
# OUT/PYTHON     the Python minor version the wheels are built for
# OUT/SHA256SUMS every file above
# Build it on an online machine of the same Debian release and architecture as the offline one
# (compiled wheels are per Python version). Needs the network (PyPI) or pip's cache, and
# libpoppler-cpp-dev, pkg-config and g++ (`make system`) to build the pdftotext binding.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist/temoin-offline}
python=${PYTHON:-$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3 )}

rm -rf "$out"
mkdir -p "$out/wheels"
# pip of that very Python, in a throwaway venv (Debian's python3 has no pip of its own).
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$python" -m venv "$tmp/venv"
# `pip wheel .` resolves exactly what `pip install .` would: Témoin and its runtime
# dependencies (no extras), as wheels, building any that PyPI ships only as source.
# --use-pep517: Debian 12's venv has pip 23.0 and setuptools but no `wheel`; without the flag
# that pip builds a source-only package with no pyproject.toml (docopt, feedgen) through the
# legacy `setup.py bdist_wheel`, which fails ("invalid command 'bdist_wheel'") whenever pip's
# cache does not already hold the wheel. With it, each is built in an isolated environment
# that gets setuptools and wheel from the index, cache or not.
"$tmp/venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --use-pep517 \
    --wheel-dir "$out/wheels" .
"$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' >"$out/PYTHON"

cp scripts/install.sh "$out/install.sh"
chmod 755 "$out/install.sh"
cat >"$out/README.txt" <<'EOF'
Témoin offline bundle. On the offline machine (Debian, same release as where it was built):
  1. Debian packages, from the installation media:
     gnupg git python3-venv poppler-utils libpoppler-cpp0v5 fonts-dejavu-core
  2. sh install.sh            (as root: /usr/local/bin/temoin; else ~/.local/bin/temoin)
     sh install.sh --help     (other places)
install.sh checks every file against SHA256SUMS first and installs with pip --no-index.
EOF

(cd "$out" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort \
    | xargs -d '\n' sha256sum >SHA256SUMS)
echo "offline bundle: $out ($(du -sh "$out" | cut -f1), $(ls "$out/wheels" | wc -l) wheels)"
