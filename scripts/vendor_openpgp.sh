#!/usr/bin/env bash
# Fetch the pinned OpenPGP.js from the npm registry and vendor its browser ES module.
#
# The submit page encrypts in the reader's browser, so the library is served from the site
# itself (no CDN, no request leaves the page). We pin one version, check the tarball against
# the registry's published sha512 integrity, copy `dist/openpgp.min.mjs` byte for byte with its
# LICENSE, and record both sha256 sums in SHA256SUMS beside them. Re-run to reproduce or to
# upgrade (change VERSION and INTEGRITY together, after reading the release notes).
#
# Usage: scripts/vendor_openpgp.sh [--check]   (--check: verify the committed file only)
set -euo pipefail

VERSION="6.3.2"
# `npm view openpgp@6.3.2 dist.integrity`
INTEGRITY="sha512-wcZTzHz41LV8Y48zH/JlD1JT8YdNmpWOuMAjQ/podvvCwsjBEU37K3znJh4UQcj3hksE5z9TzvhbUbwzsGvlLQ=="

here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/src/temoin/site/assets/vendor"

if [[ "${1:-}" == "--check" ]]; then
    cd "$dest" && sha256sum --check --strict SHA256SUMS
    exit
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "openpgp@$VERSION" >/dev/null
tarball="openpgp-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$got" != "$INTEGRITY" ]]; then
    echo "vendor_openpgp: $tarball integrity $got differs from the pinned $INTEGRITY" >&2
    exit 1
fi
tar xzf "$tarball" package/dist/openpgp.min.mjs package/LICENSE package/package.json
pkg_version="$(node -p 'require("./package/package.json").version')"
if [[ "$pkg_version" != "$VERSION" ]]; then
    echo "vendor_openpgp: tarball says version $pkg_version, expected $VERSION" >&2
    exit 1
fi
mkdir -p "$dest"
install -m 0644 package/dist/openpgp.min.mjs "$dest/openpgp.min.mjs"
install -m 0644 package/LICENSE "$dest/LICENSE.openpgp"
cd "$dest"
sha256sum openpgp.min.mjs LICENSE.openpgp > SHA256SUMS
echo "vendored openpgp@$VERSION into $dest:"
cat SHA256SUMS
