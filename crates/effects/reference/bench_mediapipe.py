#!/usr/bin/env python3
"""MediaPipe's own runtime segmenting the frame the Rust benchmark uses.

Usage: bench_mediapipe.py MODEL.tflite FRAME.rgb WIDTH HEIGHT ITERATIONS
(FRAME.rgb: raw interleaved RGB). Pins itself to one CPU and asks XNNPACK
for one thread, like the single-threaded Rust side. Prints one line per
measurement: `name<TAB>median_ms<TAB>p95_ms`.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_reference import RawSegmenter  # noqa: E402

import mediapipe as mp  # noqa: E402


def timed(fn, iterations):
    for _ in range(10):
        fn()
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1e3)
    samples.sort()
    return samples[len(samples) // 2], samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main():
    model, frame_path, w, h, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rgb = np.fromfile(frame_path, np.uint8).reshape(h, w, 3)

    # ImageToTensor (scale 1280x720 -> 256x144) + TFLite/XNNPACK inference.
    seg = RawSegmenter(model, delegate="xnnpack { num_threads: 1 }", copy_out=False)
    med, p95 = timed(lambda: seg.run(rgb), iterations)
    seg.close()
    print(f"MediaPipe graph: ImageToTensor + inference (XNNPACK, 1 thread)\t{med:.3f}\t{p95:.3f}", flush=True)

    # The packaged solution: the same landscape architecture (its own copy
    # of the weights), including mask post-processing to frame size.
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1) as solution:
        med, p95 = timed(lambda: solution.process(rgb), iterations)
    print(f"MediaPipe solution SelfieSegmentation(model_selection=1).process\t{med:.3f}\t{p95:.3f}", flush=True)


if __name__ == "__main__":
    main()
