"""Objective speech quality of processed audio against the clean voice.

Usage: speech_quality.py CLEAN.wav PROCESSED.wav [PROCESSED.wav ...]
Prints one line per processed file: "<file> stoi=<0..1> pesq_wb=<1..4.5>".

STOI (short-time objective intelligibility, Taal et al. 2011) and PESQ
(ITU-T P.862.2, wide band) from the `pystoi` and `pesq` packages on PyPI,
the implementations papers on speech enhancement report with. The files
are 48 kHz mono 16-bit, as the media core sends; PESQ is defined at 16 kHz,
so both are resampled for it.
"""

import sys
import wave

import numpy as np
from pesq import pesq
from pystoi import stoi
from scipy.signal import resample_poly


def read(path):
    with wave.open(path, "rb") as w:
        if w.getnchannels() != 1 or w.getsampwidth() != 2:
            sys.exit(f"{path}: expected mono 16-bit PCM")
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return rate, data.astype(np.float64) / 32768.0


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rate, clean = read(sys.argv[1])
    for path in sys.argv[2:]:
        other_rate, processed = read(path)
        if other_rate != rate:
            sys.exit(f"{path}: {other_rate} Hz, the clean voice is {rate} Hz")
        n = min(len(clean), len(processed))
        c, p = clean[:n], processed[:n]
        intelligibility = stoi(c, p, rate, extended=False)
        quality = pesq(16000, resample_poly(c, 1, rate // 16000), resample_poly(p, 1, rate // 16000), "wb")
        print(f"{path} stoi={intelligibility:.3f} pesq_wb={quality:.2f}")


if __name__ == "__main__":
    main()
