#!/usr/bin/env bash
# What a flood of QUIC handshakes that are never finished costs a release link (issue 14,
# item 3): `ixi-link serve --simulate` (no new blocks and a small, uncorrupted simulated chain,
# so nothing else grows or warns), its RSS idle,
# at its peak while `handshake_flood` sends HANDSHAKES client Initials, and 30 s after; and
# how many WARN lines the link wrote meanwhile.
#
# Usage: scripts/handshake-flood.sh [HANDSHAKES=26000] [RATE_PER_S=2000] [retry]
# (`retry`: the flood answers the link's Retry packets, as a host with a real address can.)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
handshakes=${1:-26000}
rate=${2:-2000}
retry=${3:-}
port=${FLOOD_PORT:-47391}
bin="${CARGO_TARGET_DIR:-target}/release"
cargo build --release --locked -p ixi-link -p ixi-test-support --bin ixi-link --bin handshake_flood

dir=$(mktemp -d)
cleanup() {
    [[ -n "${link_pid:-}" ]] && kill "$link_pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
pin=$("$bin/ixi-link" init --data-dir "$dir/link" --json | sed 's/.*"pin": *"\([^"]*\)".*/\1/')
"$bin/ixi-link" serve --data-dir "$dir/link" --listen "127.0.0.1:$port" --simulate \
    --block-seconds 86400 --block-signatures 20 --transactions 4 --corrupt-percent 0 \
    2>"$dir/serve.log" &
link_pid=$!
for _ in $(seq 1 3000); do
    grep -q "listening on" "$dir/serve.log" && break
    sleep 0.1
done
grep -q "listening on" "$dir/serve.log" || { cat "$dir/serve.log"; exit 1; }
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$link_pid/status"; }
# The simulated chain's history is shadow-verified first.
sleep 10
idle=$(rss)
warn_before=$(grep -c WARN "$dir/serve.log" || true)

"$bin/handshake_flood" "127.0.0.1:$port" "$pin" "$handshakes" "$rate" 64 $retry &
flood_pid=$!
peak=$idle
while kill -0 "$flood_pid" 2>/dev/null; do
    now=$(rss)
    (( now > peak )) && peak=$now
    sleep 0.1
done
wait "$flood_pid"
for _ in $(seq 1 300); do
    now=$(rss)
    (( now > peak )) && peak=$now
    sleep 0.1
done
after=$(rss)
warns=$(( $(grep -c WARN "$dir/serve.log" || true) - warn_before ))
echo "link RSS: idle ${idle} KiB, peak ${peak} KiB (+$(( (peak - idle) / 1024 )) MiB), 30 s after the flood ${after} KiB (+$(( (after - idle) / 1024 )) MiB)"
echo "WARN lines during the flood: $warns"
grep WARN "$dir/serve.log" | tail -n 5 || true
