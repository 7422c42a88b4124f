#!/bin/sh
# Put `temoin` on PATH: a virtualenv of its own and a link to its command.
#
#   install.sh [--prefix DIR] [--venv DIR] [--no-link]
#
# From a source tree (make install) it installs that tree with pip. From an offline bundle
# (make offline-bundle; this file sits beside wheels/ and SHA256SUMS) it first checks every
# file against SHA256SUMS, then installs with `pip --no-index` from wheels/ only: no network.
# --prefix: the venv goes to PREFIX/lib/temoin, the command to PREFIX/bin (default /usr/local
# as root, ~/.local otherwise), made afresh each time. --venv DIR: that virtualenv instead
# (made if missing). --no-link: no command link.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
venv=""
link=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix=$2; shift 2 ;;
        --venv) venv=$2; shift 2 ;;
        --no-link) link=no; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
fresh=""
[ -n "$venv" ] || { venv="$prefix/lib/temoin"; fresh=--clear; }
python=${PYTHON:-python3}
die() { echo "install.sh: $*" >&2; exit 1; }

if [ -d "$here/wheels" ]; then
    # Offline bundle: refuse anything altered or damaged on the way (USB stick, copy).
    (cd "$here" && sha256sum --check --quiet --strict SHA256SUMS) \
        || die "files differ from SHA256SUMS: the bundle is damaged or was altered; copy it again"
    # The wheels are built for Debian's own Python (offline_bundle.sh): use it, not another
    # python3 that comes first on PATH (pyenv, conda), unless PYTHON says otherwise.
    [ -n "${PYTHON:-}" ] || [ ! -x /usr/bin/python3 ] || python=/usr/bin/python3
    want=$(cat "$here/PYTHON")
    have=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])') \
        || die "no $python: install Debian's python3 and python3-venv first"
    [ "${want%.*}" = "${have%.*}" ] || die "this bundle's wheels are for Python $want, $python \
is $have: build the bundle on a machine with the same Debian release"
    source="temoin"
    pip_args="--no-index --find-links $here/wheels"
else
    source="$here/.."  # scripts/ of a source tree
    pip_args=""
fi

"$python" -m venv $fresh "$venv" || die "could not create a virtualenv in $venv (Debian: apt-get install python3-venv)"
# shellcheck disable=SC2086  # pip_args is a list of words
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check $pip_args "$source"

if [ "$link" = yes ]; then
    mkdir -p "$prefix/bin"
    ln -sf "$venv/bin/temoin" "$prefix/bin/temoin"
    echo "temoin installed: $prefix/bin/temoin"
    case ":$PATH:" in
        *":$prefix/bin:"*) ;;
        *) echo "  $prefix/bin is not on PATH: add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" ;;
    esac
else
    echo "temoin installed: $venv/bin/temoin"
fi

missing=""
for tool in gpg git pdftotext pdfinfo; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -f "${TEMOIN_FONT_DIR:-/usr/share/fonts/truetype/dejavu}/DejaVuSans.ttf" ] \
    || missing="$missing DejaVu-Sans"
if [ -n "$missing" ]; then
    echo "  still missing:$missing${missing:+ }(from Debian's media: apt-get install gnupg git \
poppler-utils libpoppler-cpp0v5 fonts-dejavu-core)" >&2
fi
