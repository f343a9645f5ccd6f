#!/usr/bin/env bash
# The imaging benchmark against its libvips reference: CPU ms per image, one core, same machine,
# same run. Builds benches/imaging.rs once, then each of IMAGING_ROUNDS rounds (default 3) runs
# it under criterion on Pictor's engine (CPU time of the rendering thread, short warm-up and
# measurement unless the arguments set them), then benches/vips_reference.py on the
# same JPEG cases through libvips in process (VIPS_CONCURRENCY=1, CPU time of the process;
# VIPS_SAMPLES renders per case, default 30). Alternating keeps both sides under the same
# machine conditions. Prints one markdown table: per case, the median over rounds of each
# side's median, the median and range of the per-round ratios (Pictor / libvips), and the
# ratio of the least CPU time either side took for one image over all rounds (noise only ever
# adds CPU time, so the least is the steadiest estimate of the cost itself).
# Criterion's progress goes to stderr, the table to stdout.
# Needs scripts/setup --bench (pyvips).
# Usage: [IMAGING_ROUNDS=N] [VIPS_SAMPLES=N] benches/imaging.sh [criterion arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import pyvips" 2>/dev/null || { echo "imaging: pyvips is required (scripts/setup --bench)" >&2; exit 1; }

rounds="${IMAGING_ROUNDS:-3}"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "imaging: IMAGING_ROUNDS must be a positive integer" >&2; exit 1; }
# Short criterion runs, many rounds: the rounds give the spread. Given times take precedence.
criterion=("$@")
[[ " $* " == *" --warm-up-time"* ]] || criterion=(--warm-up-time 1 "${criterion[@]}")
[[ " $* " == *" --measurement-time"* ]] || criterion=(--measurement-time 3 "${criterion[@]}")

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT
# Built once, and every round runs a private copy: the same engine throughout, whatever another
# build in target/ does to the sources or the executable meanwhile.
built="$(cargo bench --locked --bench imaging --no-run --message-format=json-render-diagnostics \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "imaging":
        print(m.get("executable") or "", end="")')"
[[ -x "$built" ]] || { echo "imaging: cargo reported no benchmark executable" >&2; exit 1; }
bench="$results/imaging"
cp "$built" "$bench"
# Where `cargo bench` would put criterion's results.
export CRITERION_HOME="${CRITERION_HOME:-${CARGO_TARGET_DIR:-target}/criterion}"
mkdir -p "$CRITERION_HOME/render"

for round in $(seq "$rounds"); do
    echo "imaging: round $round of $rounds" >&2
    mkdir "$results/$round"
    touch "$results/$round/start"
    "$bench" --bench "${criterion[@]}" >&2
    # Only the cases this round measured (a filter argument may skip some).
    find "$CRITERION_HOME/render" -path '*/new/estimates.json' -newer "$results/$round/start" \
        -exec sh -c 'case="$(basename "$(dirname "$(dirname "$1")")")"
            cp "$1" "$2/$case.json"; cp "$(dirname "$1")/sample.json" "$2/$case.samples"' \
        sh {} "$results/$round" \;
    VIPS_CONCURRENCY=1 VIPS_SAMPLES="${VIPS_SAMPLES:-30}" python3 benches/vips_reference.py \
        | tee "$results/$round/vips.txt" >&2
done

python3 - "$results" "$rounds" <<'EOF'
import json, os, re, statistics, sys

results, rounds = sys.argv[1], int(sys.argv[2])
ours, ref = {}, {}  # case -> {round: median CPU ms per image}
best_ours, best_ref = {}, {}  # case -> least CPU ms per image over every sample of every round
for r in range(1, rounds + 1):
    folder = os.path.join(results, str(r))
    for name in os.listdir(folder):
        case, ext = os.path.splitext(name)
        if ext == ".json":
            median = json.load(open(os.path.join(folder, name)))["median"]["point_estimate"]
            ours.setdefault(case, {})[r] = median / 1e6
        elif ext == ".samples":
            sample = json.load(open(os.path.join(folder, name)))
            least = min(t / i for t, i in zip(sample["times"], sample["iters"])) / 1e6
            best_ours[case] = min(best_ours.get(case, least), least)
    for line in open(os.path.join(folder, "vips.txt")):
        m = re.match(r"vips/(\S+): median ([0-9.]+) ms, least ([0-9.]+) ms", line)
        if m:
            ref.setdefault(m.group(1), {})[r] = float(m.group(2))
            least = float(m.group(3))
            best_ref[m.group(1)] = min(best_ref.get(m.group(1), least), least)
if not ours:
    sys.exit("imaging: criterion wrote no estimates (a filter that matches nothing, or --test?)")


def ms(values):
    return f"{statistics.median(values):.2f}" if values else ""


print(f"| case | Pictor CPU ms (median of {rounds}) | libvips CPU ms (median of {rounds}) "
      "| ratio median | ratio range | least Pictor / least libvips |")
print("|---|---|---|---|---|---|")
for case in sorted(ours):
    mine, theirs = ours[case], ref.get(case, {})
    ratios = [mine[r] / theirs[r] for r in mine if r in theirs]
    median = f"{statistics.median(ratios):.2f}" if ratios else ""
    spread = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else ""
    best = ""
    if case in best_ours and case in best_ref:
        best = f"{best_ours[case]:.2f} / {best_ref[case]:.2f} = {best_ours[case] / best_ref[case]:.2f}"
    cells = [case, ms(list(mine.values())), ms(list(theirs.values())), median, spread, best]
    print("| " + " | ".join(cells) + " |")
EOF
