//! Signal measurements used by stats and tests.

use crate::frame::AUDIO_RATE_HZ;

/// Power of one frequency over `samples` (Goertzel).
pub fn goertzel_power(samples: &[i16], hz: f64) -> f64 {
    let w = std::f64::consts::TAU * hz / AUDIO_RATE_HZ as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s = x as f64 + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Loudness of a block of samples for level meters, the active speaker
/// and the echo path's watch: RMS relative to full scale, so a full-scale
/// sine reads about 0.7.
pub fn audio_level(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    ((energy / samples.len() as f64).sqrt() / 32768.0) as f32
}

/// RMS level in dBFS; -inf for digital silence.
pub fn rms_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    20.0 * f64::from(audio_level(samples)).log10()
}

/// The strongest frequency between 50 Hz and 8 kHz, to within about 0.25 Hz,
/// or `None` when the signal is quieter than -50 dBFS. Not for hot paths: it
/// scans coarsely, then refines around the peak.
pub fn dominant_frequency_hz(samples: &[i16]) -> Option<f64> {
    if samples.len() < 960 || rms_dbfs(samples) < -50.0 {
        return None;
    }
    // At most 1 s keeps the cost bounded whatever the caller passes.
    let window = &samples[samples.len().saturating_sub(AUDIO_RATE_HZ as usize)..];
    let mut best = (0.0, f64::MIN);
    let scan = |from: f64, to: f64, step: f64, best: &mut (f64, f64)| {
        let mut hz = from;
        while hz <= to {
            let p = goertzel_power(window, hz);
            if p > best.1 {
                *best = (hz, p);
            }
            hz += step;
        }
    };
    scan(50.0, 8_000.0, 10.0, &mut best);
    let center = best.0;
    scan((center - 10.0).max(20.0), center + 10.0, 0.25, &mut best);
    Some(best.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::AudioFrame;
    use crate::tone::ToneSource;

    #[test]
    fn finds_tones_within_a_hertz() {
        for hz in [220.0, 440.0, 997.0, 3_000.0] {
            let mut tone = ToneSource::new(hz).expect("tone");
            let mut frame = AudioFrame::default();
            let mut all = Vec::new();
            for _ in 0..50 {
                tone.read(&mut frame);
                all.extend_from_slice(&frame.samples);
            }
            let found = dominant_frequency_hz(&all).expect("not silent");
            assert!((found - hz).abs() < 1.0, "{hz} -> {found}");
        }
        assert_eq!(dominant_frequency_hz(&[0; 48_000]), None);
        assert_eq!(dominant_frequency_hz(&[1000; 10]), None);
    }
}
