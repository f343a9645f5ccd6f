#!/usr/bin/env python3
"""Times the JPEG cases of benches/imaging.rs through libvips (pyvips, in process, one thread):
thumbnail_buffer to 300 px wide (or into 512x512), JPEG Q=80. Needs libvips (Debian libvips42) and pyvips."""
import os
import statistics
import time

os.environ.setdefault("VIPS_CONCURRENCY", "1")
import pyvips  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
CASES = [
    ("jpeg_12mp_to_300", "corpus/photos/photo_12mp_olympus-ep3_4032x3024.jpg"),
    ("jpeg_2.6mp_to_300", "bench/photos/02_BytheWater.jpg"),
    ("jpeg_2.6mp_to_512_fit", "bench/photos/02_BytheWater.jpg"),
    ("jpeg_progressive_4mp_to_300", "corpus/photos/photo_progressive_sony-nex3n_2560x1600.jpg"),
]
NO_RESTARTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target",
                           "12mp_no_restarts.jpg")
if os.path.exists(NO_RESTARTS):  # written by `cargo bench --bench imaging`
    CASES.append(("jpeg_12mp_no_restarts_to_300", os.path.abspath(NO_RESTARTS)))
pyvips.cache_set_max(0)
for name, rel in CASES:
    data = open(os.path.join(ROOT, rel), "rb").read()
    samples = []
    for i in range(25):
        t = time.perf_counter()
        if name.endswith("_to_512_fit"):
            img = pyvips.Image.thumbnail_buffer(data, 512, height=512)
        else:
            img = pyvips.Image.thumbnail_buffer(data, 300, height=100000)
        img.write_to_buffer(".jpg[Q=80]")
        if i >= 5:
            samples.append((time.perf_counter() - t) * 1000)
    print(f"vips/{name}: median {statistics.median(samples):.2f} ms")
