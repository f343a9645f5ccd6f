#!/usr/bin/env bash
# The imaging benchmark and its libvips reference in one run: criterion times Pictor's engine
# (benches/imaging.rs), then benches/vips_reference.py times the same JPEG cases through
# libvips in process; prints one table with the ratios. Needs scripts/setup --bench (pyvips).
# Usage: benches/imaging.sh [criterion arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import pyvips" 2>/dev/null || { echo "imaging: pyvips is required (scripts/setup --bench)" >&2; exit 1; }

cargo bench --locked --bench imaging -- --warm-up-time 2 --measurement-time 6 "$@" >&2
vips="$(VIPS_CONCURRENCY=1 python3 benches/vips_reference.py)"

python3 - "$vips" <<'EOF'
import json, os, re, sys

vips = {}
for line in sys.argv[1].splitlines():
    m = re.match(r"vips/(\S+): median ([0-9.]+) ms", line)
    if m:
        vips[m.group(1)] = float(m.group(2))
root = os.path.join("target", "criterion", "render")
print("| case | Pictor ms | libvips ms | ratio |")
print("|---|---|---|---|")
for case in sorted(os.listdir(root)):
    path = os.path.join(root, case, "new", "estimates.json")
    if not os.path.exists(path):
        continue
    ours = json.load(open(path))["median"]["point_estimate"] / 1e6
    ref = vips.get(case)
    ratio = f"{ours / ref:.2f}" if ref else ""
    print(f"| {case} | {ours:.2f} | {ref if ref else ''} | {ratio} |")
EOF
