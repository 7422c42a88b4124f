#!/usr/bin/env bash
# make demo: build this repo's fictional demo site into site/ with the demo-only keys in a
# throwaway GNUPGHOME, then run `temoin demo` (the whole path: encrypted inbox -> ingest ->
# curation -> build) in a temporary repository.
set -euo pipefail
cd "$(dirname "$0")/.."
export GNUPGHOME; GNUPGHOME=$(mktemp -d /tmp/temoin-demo-gnupg.XXXXXX)
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true; rm -rf "$GNUPGHOME"' EXIT
chmod 700 "$GNUPGHOME"
for k in tests/fixtures/demo-keys/*.sec.asc; do
  gpg --batch --quiet --import "$k" 2>/dev/null
done
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
.venv/bin/temoin build --site-dir site
if .venv/bin/temoin demo --help >/dev/null 2>&1; then
  .venv/bin/temoin demo "$(mktemp -d /tmp/temoin-demo-repo.XXXXXX)"
fi
echo
echo "Demo site ready: open $(pwd)/site/index.html in a browser,"
echo "or serve it: (cd site && python3 -m http.server 8000) then http://127.0.0.1:8000/"
