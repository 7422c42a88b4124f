#!/usr/bin/env bash
# Install the Debian packages named as arguments that are not installed yet (make system).
#
# Another apt or dpkg (unattended-upgrades, a second `make`) may hold the lock: wait for it up
# to APT_LOCK_TIMEOUT seconds instead of failing. `apt-get install` waits by itself with
# DPkg::Lock::Timeout; `apt-get update` does not wait for the lists lock, so it is retried
# while its error is a lock error. Past the timeout, say what holds the lock and what to run.
set -euo pipefail

timeout=${APT_LOCK_TIMEOUT:-300}
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

missing=()
for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing: ${missing[*]}"

busy() {  # $1: apt-get's error output; true when it failed on a lock
    grep -qE 'Could not get lock|Unable to (acquire|lock)' <<<"$1"
}
give_up() {
    echo "make: apt/dpkg is still busy after ${timeout}s:" >&2
    sed -n 's/^E: //p' <<<"$1" | head -2 | sed 's/^/  /' >&2
    echo "  Let that install finish (or check it with: ps -C apt-get,apt,dpkg -o pid,etime,args)," >&2
    echo "  then run make again; to wait longer: make APT_LOCK_TIMEOUT=900 ..." >&2
    exit 1
}

deadline=$((SECONDS + timeout))
said=""
while :; do
    if err=$($sudo apt-get -qq -o DPkg::Lock::Timeout="$timeout" update 2>&1 >/dev/null); then
        break
    fi
    busy "$err" || { echo "$err" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || give_up "$err"
    [ -n "$said" ] || echo "apt is busy (package lists locked): waiting up to ${timeout}s..." >&2
    said=yes
    sleep 2
done

left=$((deadline - SECONDS)); [ $left -gt 0 ] || left=1
log=$(mktemp); trap 'rm -f "$log"' EXIT
if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout="$left" "${missing[@]}" 2>&1 | tee "$log"; then
    busy "$(cat "$log")" && give_up "$(cat "$log")"
    exit 1
fi
