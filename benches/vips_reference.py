#!/usr/bin/env python3
"""Times the JPEG cases of benches/imaging.rs through libvips (pyvips, in process, one thread):
thumbnail_buffer to 300 px wide (or into 512x512), JPEG Q=80. Prints one line per case,
`vips/<case>: median <ms> ms, least <ms> ms`: the median and the least CPU time per
image over the samples.

The CPU time is the process's (time.process_time), not the calling thread's: even at
VIPS_CONCURRENCY=1 libvips runs the pipeline on a worker thread while the calling thread
waits, so time.thread_time() would miss most of the work. Nothing else runs in the process.

Usage: benches/vips_reference.py [--samples N] (default: $VIPS_SAMPLES, else 20).
Needs libvips (Debian libvips42) and pyvips."""
import argparse
import os
import statistics
import time

os.environ.setdefault("VIPS_CONCURRENCY", "1")
import pyvips  # noqa: E402

WARM_UP = 5
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..", "shared")
CASES = [
    ("jpeg_12mp_to_300", "corpus/photos/photo_12mp_olympus-ep3_4032x3024.jpg"),
    ("jpeg_2.6mp_to_300", "bench/photos/02_BytheWater.jpg"),
    ("jpeg_2.6mp_to_512_fit", "bench/photos/02_BytheWater.jpg"),
    ("jpeg_progressive_4mp_to_300", "corpus/photos/photo_progressive_sony-nex3n_2560x1600.jpg"),
]
NO_RESTARTS = os.path.join(HERE, "..", "target", "12mp_no_restarts.jpg")
if os.path.exists(NO_RESTARTS):  # written by `cargo bench --bench imaging`
    CASES.append(("jpeg_12mp_no_restarts_to_300", os.path.abspath(NO_RESTARTS)))


def positive(text):
    """argparse type: a positive integer."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


parser = argparse.ArgumentParser(
    description="libvips CPU ms per image for the JPEG cases of benches/imaging.rs")
parser.add_argument("--samples", type=positive, default=os.environ.get("VIPS_SAMPLES", "20"),
                    help=f"timed renders per case, after {WARM_UP} warm-up renders "
                         "(default: $VIPS_SAMPLES, else 20)")
args = parser.parse_args()

pyvips.cache_set_max(0)
for name, rel in CASES:
    data = open(os.path.join(ROOT, rel), "rb").read()
    samples = []
    for i in range(WARM_UP + args.samples):
        t = time.process_time()
        if name.endswith("_to_512_fit"):
            img = pyvips.Image.thumbnail_buffer(data, 512, height=512)
        else:
            img = pyvips.Image.thumbnail_buffer(data, 300, height=100000)
        img.write_to_buffer(".jpg[Q=80]")
        if i >= WARM_UP:
            samples.append((time.process_time() - t) * 1000)
    print(f"vips/{name}: median {statistics.median(samples):.2f} ms, least {min(samples):.2f} ms",
          flush=True)
