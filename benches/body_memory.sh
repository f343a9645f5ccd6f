#!/usr/bin/env bash
# The memory request bodies cost the server when many clients upload at once.
# CLIENTS concurrent `PUT /images` of one 45 MB body each (random bytes: buffered whole, then
# refused with 10002, so nothing is stored and only the buffering counts), against a fresh
# `pictor serve` on the embedded default whose limits.request_memory_bytes is BUDGET.
# Prints the server's peak resident memory (VmHWM), the result codes and the memory metrics.
# Usage: benches/body_memory.sh [BUDGET] [CLIENTS]   (defaults 1073741824 and 64; a budget of
# 100000000000 shows the process without the bound). Uses target/release/pictor when built,
# else target/debug/pictor (memory is the same); needs curl.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-1073741824}"
clients="${2:-64}"
bin=target/release/pictor
[ -x "$bin" ] || bin=target/debug/pictor
[ -x "$bin" ] || { echo "body_memory: build pictor first (cargo build)" >&2; exit 1; }
command -v curl >/dev/null || { echo "body_memory: curl is required" >&2; exit 1; }
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
head -c 45000000 /dev/urandom > "$work/body.bin"
PICTOR_LIMITS_REQUEST_MEMORY_BYTES="$budget" "$bin" serve --listen 127.0.0.1:0 \
    --data-dir "$work/data" > "$work/out.log" 2>&1 &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$work/out.log" && break; sleep 0.1; done
base="$(grep -o 'listening on http://[0-9.:]*' "$work/out.log" | sed 's/listening on //')"
app="$(grep -o '"appKey":"[^"]*"' "$work/out.log" | cut -d'"' -f4)"
secret="$(grep -o '"secretKey":"[^"]*"' "$work/out.log" | cut -d'"' -f4)"
echo "budget $budget bytes, $clients clients, one 45 MB body each"
grep VmRSS "/proc/$server/status" | sed 's/VmRSS/resident before/'
uploads=()
for i in $(seq "$clients"); do
    curl -s -T "$work/body.bin" "$base/image/v2.0/appkeys/$app/images?path=/m/$i.bin" \
        -H "Authorization: $secret" -o "$work/r$i.json" &
    uploads+=("$!")
done
wait "${uploads[@]}"
grep VmHWM "/proc/$server/status" | sed 's/VmHWM/peak resident/'
cat "$work"/r*.json | grep -o '"resultCode":[-0-9]*' | sort | uniq -c
curl -s "$base/metrics" | grep '^pictor_request_body_memory'
