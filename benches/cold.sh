#!/usr/bin/env bash
# Cold renders side by side with oximg 0.18.1, in one batch on this machine.
# imgproxy's method: the 20 photos of ../shared/bench/photos fitted into 512x512 at JPEG quality
# 80, Pictor's result cache off (oximg has none), 2 connections each walking the list so that no
# photo is asked twice at once, ROUNDS alternating rounds of SECONDS each.
# For each run it prints requests/s, p50/p95 latency, the cores the server kept busy and its
# CPU time per request (from /proc/<pid>/stat), then the ratio at the medians.
# Needs wrk, curl, python3 (scripts/setup --bench) and oximg on PATH
# (`cargo install oximg --version 0.18.1 --locked`).
# Usage: benches/cold.sh [SECONDS] [ROUNDS]   (defaults 15 and 3; CONNS=n changes the 2
# connections; BEFORE=<pictor binary> adds an earlier build to every round, for before/after)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
shared="$root/../shared"
[ -d "$shared/bench/photos" ] || { echo "cold: $shared/bench/photos is missing" >&2; exit 1; }
for tool in wrk curl python3 oximg; do
    command -v "$tool" >/dev/null || { echo "cold: $tool is required" >&2; exit 1; }
done
secs="${1:-15}"
rounds="${2:-3}"

cargo build --release --locked --quiet
bin="$root/target/release/pictor"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=18490
ox_port=18491
before_port=18492
export PICTOR_LOG_LEVEL=warn PICTOR_RENDER_RESULT_CACHE=false

wait_up() {
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "cold: $1 did not answer" >&2
    exit 1
}

field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
check() {
    python3 -c "import json,sys; h=json.load(sys.stdin)['header']; sys.exit(0 if h['resultCode']==0 else h['resultMessage'])" <<<"$1"
}

# Starts a Pictor binary on a port with its own data directory, uploads the photos and saves
# the operation; sets $pid and writes the request list to $3.
start_pictor() {
    local bin="$1" port="$2" list="$3" data="$work/data-$2" app key secret container api
    app="$("$bin" app create --data-dir "$data" --name bench)"
    key="$(field appKey <<<"$app")"
    secret="$(field secretKey <<<"$app")"
    container="$(field container <<<"$app")"
    "$bin" serve --listen "127.0.0.1:$port" --data-dir "$data" >"$work/pictor-$port.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_up "http://127.0.0.1:$port/healthz"
    api="http://127.0.0.1:$port/image/v2.0/appkeys/$key"
    : >"$list"
    for f in "$shared"/bench/photos/*.jpg; do
        name="$(basename "$f")"
        check "$(curl -fs -X PUT -H "Authorization: $secret" --data-binary "@$f" "$api/images?path=/photos/$name&overwrite=true")"
        echo "/$container/photos/$name?fit512" >>"$list"
    done
    check "$(curl -fs -X PUT -H "Authorization: $secret" -H 'Content-Type: application/json' \
        -d '{"data":[{"templateOperationId":"resize_max_fit","option":{"width":512,"height":512,"quality":80}}]}' \
        "$api/operations/fit512")"
    curl -fs -o /dev/null "http://127.0.0.1:$port$(head -1 "$list")"
}

start_pictor "$bin" "$port" "$work/pictor.txt"
pictor_pid=$pid
servers=(pictor)
if [ -n "${BEFORE:-}" ]; then
    start_pictor "$BEFORE" "$before_port" "$work/before.txt"
    before_pid=$pid
    servers=(pictor before)
fi

mkdir -p "$work/images"
: >"$work/oximg.txt"
for f in "$shared"/bench/photos/*.jpg; do
    name="$(basename "$f")"
    cp "$f" "$work/images/$name"
    echo "/resize/512/512/$name" >>"$work/oximg.txt"
done
IMAGES_DIR="$work/images" PORT="$ox_port" OXIMG_BIND=127.0.0.1 oximg serve >"$work/oximg.log" 2>&1 &
oximg_pid=$!
pids+=("$oximg_pid")
wait_up "http://127.0.0.1:$ox_port/resize/512/512/01_Grey.jpg"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz="$(getconf CLK_TCK)"

# One run: prints "rps p50 p95 cores cpu_ms_per_request".
run() {
    local pid="$1" url="$2" list="$3" before after line
    before="$(ticks "$pid")"
    line="$(wrk -t"$(( ${CONNS:-2} < 2 ? 1 : 2 ))" -c"${CONNS:-2}" -d"${secs}s" -s "$root/benches/walk.lua" "$url" -- "$list" | sed -n 's/^RESULT //p')"
    after="$(ticks "$pid")"
    python3 - "$line" "$before" "$after" "$hz" "$secs" <<'EOF'
import sys
rps, p50, p95, _p99, _err = sys.argv[1].split()
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
secs = float(sys.argv[5])
print(rps, p50, p95, f"{cpu / secs:.2f}", f"{1000 * cpu / (float(rps) * secs):.1f}")
EOF
}

: >"$work/results"
for r in $(seq "$rounds"); do
    echo "pictor $r $(run "$pictor_pid" "http://127.0.0.1:$port" "$work/pictor.txt")" >>"$work/results"
    if [ -n "${BEFORE:-}" ]; then
        echo "before $r $(run "$before_pid" "http://127.0.0.1:$before_port" "$work/before.txt")" >>"$work/results"
    fi
    echo "oximg $r $(run "$oximg_pid" "http://127.0.0.1:$ox_port" "$work/oximg.txt")" >>"$work/results"
done

python3 - "$work/results" "$secs" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"\n20 photos into 512x512 q80, 2 connections, {sys.argv[2]} s per run, rounds alternate\n")
print("| server | round | req/s | p50 ms | p95 ms | cores busy | CPU ms / request |")
print("|---|---|---|---|---|---|---|")
for name, rnd, rps, p50, p95, cores, cpu in rows:
    print(f"| {name} | {rnd} | {rps} | {p50} | {p95} | {cores} | {cpu} |")
names = sorted({r[0] for r in rows}, key=["pictor", "before", "oximg"].index)
med = {n: statistics.median(float(r[2]) for r in rows if r[0] == n) for n in names}
print("\nmedian req/s: " + ", ".join(f"{n} {med[n]:.0f}" for n in names)
      + f"; pictor / oximg {med['pictor'] / med['oximg']:.2f}x")
if "before" in med:
    print(f"pictor / before {med['pictor'] / med['before']:.2f}x")
EOF
