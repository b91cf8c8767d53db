#!/usr/bin/env python3
"""Draws TalkLine's default replacement backgrounds as 1280x720 JPEGs.

The designs are the same formulas as `talkline_effects::default_background`
(crates/effects/src/backgrounds.rs), so the app can either decode these
files or render them in code. Needs Pillow and numpy:
    python make_backgrounds.py            # writes dusk.jpg studio.jpg meadow.jpg here
"""

import os

import numpy as np
from PIL import Image

W, H = 1280, 720
HERE = os.path.dirname(os.path.abspath(__file__))


def smoothstep(e0, e1, x):
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def mix(a, b, t):
    t = np.clip(t, 0.0, 1.0)[..., None]
    return np.asarray(a, np.float32) + (np.asarray(b, np.float32) - np.asarray(a, np.float32)) * t


def render(kind):
    x = (np.arange(W, dtype=np.float32) + 0.5) / W
    y = (np.arange(H, dtype=np.float32) + 0.5) / H
    u, v = np.meshgrid(x, y)
    aspect = W / H
    if kind == "dusk":
        sky = mix([52, 40, 96], [250, 150, 90], smoothstep(0.0, 0.85, v))
        d = np.sqrt(((u - 0.7) * aspect) ** 2 + (v - 0.62) ** 2)
        c = mix(sky, [255, 226, 160], 1.0 - smoothstep(0.06, 0.22, d))
    elif kind == "studio":
        base = mix([120, 132, 148], [70, 80, 96], v)
        d = np.sqrt(((u - 0.5) * aspect) ** 2 + (v - 0.45) ** 2)
        c = base * (1.0 - 0.35 * smoothstep(0.3, 1.1, d))[..., None]
    else:
        sky = mix([120, 170, 230], [205, 225, 245], v / 0.6)
        hill1 = 0.62 + 0.05 * np.sin(u * 6.0)
        hill2 = 0.74 + 0.04 * np.sin(u * 9.0 + 1.3)
        far = mix([110, 160, 100], [90, 140, 80], v)
        near = mix([80, 150, 60], [50, 110, 40], v)
        c = mix(sky, far, smoothstep(hill1 - 0.004, hill1 + 0.004, v))
        c = c + (near - c) * smoothstep(hill2 - 0.004, hill2 + 0.004, v)[..., None]
    return Image.fromarray(np.clip(c, 0, 255).astype(np.uint8), "RGB")


def main():
    for kind in ("dusk", "studio", "meadow"):
        render(kind).save(os.path.join(HERE, f"{kind}.jpg"), quality=88, optimize=True)


if __name__ == "__main__":
    main()
