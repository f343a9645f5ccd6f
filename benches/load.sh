#!/usr/bin/env bash
# Load benchmark of the delivery path, on this machine, in one run:
#   1. L1 hit: a 300 px thumbnail of a 12 MP photo served from memory, wrk -t2 -c32;
#   1b. a small original (catalog lookup and object-store read per request), -c2: the server's
#      own cost per request;
#   2. the thumbnail of 1 served by nginx as a static file (the reference), same load as 1;
#   3. cold renders of distinct variants of the 12 MP photo (each URL asked once), -c2;
#   4. imgproxy's cold-render method: the 20 photos of ../shared/bench/photos,
#      resize_max_fit 512x512 quality 80, 2 connections each walking the list, 15 s,
#      result cache off; requests/s, p50/p95 and the server's peak RSS (VmHWM).
#   5. overload: 1,000 connections asking for cold renders of the same photos from a process
#      with one render worker and a queue of 8: most answers are 503 with Retry-After; it
#      reports their latency, the count of 200s and 503s, and the server's peak RSS.
# Needs wrk, nginx, curl and python3 (scripts/setup --bench installs them).
# Usage: benches/load.sh [SECONDS]   (default 10 for the hit tests; the cold test is 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
shared="$root/../shared"
[ -d "$shared/bench/photos" ] || { echo "load: $shared/bench/photos is missing" >&2; exit 1; }
for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "load: $tool is required (scripts/setup --bench)" >&2; exit 1; }
done
secs="${1:-10}"

cargo build --release --locked --quiet
bin="$root/target/release/pictor"
work="$(mktemp -d)"
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=18480
nginx_port=18481
base="http://127.0.0.1:$port"
export PICTOR_LOG_LEVEL=warn

start_pictor() {
    "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/pictor.log" 2>&1 &
    pictor_pid=$!
    pids+=("$pictor_pid")
    for _ in $(seq 100); do
        curl -fs "$base/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "load: pictor did not start" >&2
    cat "$work/pictor.log" >&2
    exit 1
}

stop_pictor() {
    kill "$pictor_pid"
    wait "$pictor_pid" 2>/dev/null || true
}

field() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

app="$("$bin" app create --data-dir "$work/data" --name bench)"
app_key="$(field appKey <<<"$app")"
secret="$(field secretKey <<<"$app")"
container="$(field container <<<"$app")"
api="$base/image/v2.0/appkeys/$app_key"

check() {
    local answer="$1"
    python3 -c "import json,sys; h=json.load(sys.stdin)['header']; sys.exit(0 if h['resultCode']==0 else h['resultMessage'])" <<<"$answer"
}

upload() {
    check "$(curl -fs -X PUT -H "Authorization: $secret" --data-binary "@$1" "$api/images?path=$2&overwrite=true")"
}

operation() {
    check "$(curl -fs -X PUT -H "Authorization: $secret" -H 'Content-Type: application/json' \
        -d "{\"data\":[{\"templateOperationId\":\"$2\",\"option\":$3}]}" "$api/operations/$1")"
}

# Runs wrk with the walking script over a URL list; prints "rps p50 p95 p99 errors".
walk() {
    local threads="$1" conns="$2" duration="$3" list="$4"
    wrk -t"$threads" -c"$conns" -d"${duration}s" -s "$root/benches/walk.lua" "$base" -- "$list" |
        sed -n 's/^RESULT //p'
}

rss_kib() { sed -n "s/^$1:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$pictor_pid/status"; }

start_pictor
big="$shared/corpus/photos/photo_12mp_olympus-ep3_4032x3024.jpg"
upload "$big" /bench/big.jpg
operation thumb300 resize_width_fit '{"width":300,"quality":80}'

# 1. L1 hit.
thumb="$base/$container/bench/big.jpg?thumb300"
curl -fs -o "$work/thumb.jpg" "$thumb"
echo "/$container/bench/big.jpg?thumb300" >"$work/hit.txt"
read -r hit_rps hit_p50 hit_p95 hit_p99 hit_err < <(walk 2 32 "$secs" "$work/hit.txt")

# 1b. Server overhead: a small original, looked up in the catalog and read from the object
# store on every request, over 2 connections.
upload "$shared/corpus/edge/tiny_10x10.gif" /bench/tiny.gif
echo "/$container/bench/tiny.gif" >"$work/tiny.txt"
read -r or_rps or_p50 or_p95 or_p99 or_err < <(walk 2 2 "$secs" "$work/tiny.txt")

# 2. nginx serving the same bytes.
mkdir -p "$work/nginx/html" "$work/nginx/logs"
cp "$work/thumb.jpg" "$work/nginx/html/thumb.jpg"
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types { image/jpeg jpg; }
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/nginx/html;
        location / { add_header Cache-Control "public, max-age=86400"; }
    }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=("$!")
sleep 0.5
echo "/thumb.jpg" >"$work/static.txt"
read -r ng_rps ng_p50 ng_p95 ng_p99 ng_err < <(
    wrk -t2 -c32 -d"${secs}s" -s "$root/benches/walk.lua" "http://127.0.0.1:$nginx_port" -- "$work/static.txt" |
        sed -n 's/^RESULT //p'
)

# 3. Cold renders of distinct variants of the 12 MP photo (result cache on: each is a miss):
# 600 thumbnails of 201..400 px at three qualities, each connection walking its half, for at
# most 8 s so that no variant is asked twice.
: >"$work/variants.txt"
for q in 80 81 82; do
    for w in $(seq 201 400); do
        operation "w${w}q$q" resize_width_fit "{\"width\":$w,\"quality\":$q}"
        echo "/$container/bench/big.jpg?w${w}q$q" >>"$work/variants.txt"
    done
done
variants="$(wc -l <"$work/variants.txt")"
cold_secs=$((secs < 8 ? secs : 8))
read -r cv_rps cv_p50 cv_p95 cv_p99 cv_err < <(walk 2 2 "$cold_secs" "$work/variants.txt")
cv_done="$(python3 -c "print(round($cv_rps * $cold_secs))")"
if [ "$cv_done" -gt "$variants" ]; then
    echo "load: $cv_done cold requests exceed the $variants variants; some were cache hits" >&2
fi
stop_pictor

# 4. imgproxy's method, on a fresh process with the result cache off.
export PICTOR_RENDER_RESULT_CACHE=false
start_pictor
: >"$work/photos.txt"
for f in "$shared"/bench/photos/*.jpg; do
    name="$(basename "$f")"
    upload "$f" "/photos/$name"
    echo "/$container/photos/$name?fit512" >>"$work/photos.txt"
done
operation fit512 resize_max_fit '{"width":512,"height":512,"quality":80}'
curl -fs -o /dev/null "$base/$container/photos/01_Grey.jpg?fit512"
base_rss="$(rss_kib VmRSS)"
read -r ip_rps ip_p50 ip_p95 ip_p99 ip_err < <(walk 2 2 15 "$work/photos.txt")
peak_rss="$(rss_kib VmHWM)"
stop_pictor

# 5. Overload: 1,000 connections on a fresh process with one render worker and a queue of 8,
# result cache still off, so nearly every request finds the render pool full.
export PICTOR_RENDER_WORKERS=1 PICTOR_RENDER_QUEUE=8
start_pictor
curl -fs -o /dev/null "$base/$container/photos/01_Grey.jpg?fit512"
ov_base_rss="$(rss_kib VmRSS)"
read -r ov_rps ov_p50 ov_p99 ov_ok ov_busy ov_other ov_err < <(
    wrk -t2 -c1000 -d"${secs}s" --timeout 10s -s "$root/benches/overload.lua" "$base" -- "$work/photos.txt" |
        sed -n 's/^RESULT //p'
)
ov_peak_rss="$(rss_kib VmHWM)"
stop_pictor
unset PICTOR_RENDER_WORKERS PICTOR_RENDER_QUEUE

mib() { python3 -c "print(f'{$1/1024:.1f}')"; }
ratio="$(python3 -c "print(f'{100*$hit_rps/$ng_rps:.0f}')")"
cat <<EOF

Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')

| test | connections | req/s | p50 ms | p95 ms | p99 ms | errors |
|---|---|---|---|---|---|---|
| L1 hit, 300 px thumbnail of 12 MP | 32 | $hit_rps | $hit_p50 | $hit_p95 | $hit_p99 | $hit_err |
| original 10x10 GIF (catalog lookup + object-store read) | 2 | $or_rps | $or_p50 | $or_p95 | $or_p99 | $or_err |
| nginx static, same bytes | 32 | $ng_rps | $ng_p50 | $ng_p95 | $ng_p99 | $ng_err |
| cold, distinct 201..400 px variants of 12 MP ($cv_done in ${cold_secs} s) | 2 | $cv_rps | $cv_p50 | $cv_p95 | $cv_p99 | $cv_err |
| cold, 20 photos to 512x512 fit, q80, cache off, 15 s | 2 | $ip_rps | $ip_p50 | $ip_p95 | $ip_p99 | $ip_err |

L1 hits: ${ratio}% of nginx's requests/s.
Cold test peak RSS (VmHWM): $(mib "$peak_rss") MiB (RSS before the test: $(mib "$base_rss") MiB).

Overload, 1,000 connections, 1 render worker, queue 8, cache off, ${secs} s:
$ov_rps answers/s, p50 $ov_p50 ms, p99 $ov_p99 ms; $ov_ok renders (200), $ov_busy refused (503),
$ov_other other statuses, $ov_err socket errors; peak RSS $(mib "$ov_peak_rss") MiB (before: $(mib "$ov_base_rss") MiB).
EOF
