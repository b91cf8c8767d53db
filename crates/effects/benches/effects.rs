//! Per-frame cost of each effect on a 1280x720 frame, one thread, next to
//! MediaPipe's own runtime segmenting the same frame.
//!
//! `cargo bench -p talkline-effects --bench effects`; set
//! `TALKLINE_MEDIAPIPE_PYTHON` to a Python with mediapipe==0.10.21 to add
//! the MediaPipe rows. `TALKLINE_BENCH_ITERATIONS` overrides the count.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use talkline_effects::{
    Background, BackgroundCompositor, BeautyFilter, DefaultBackground, EffectsPipeline,
    EffectsSettings, I420Mut, Interpreter, MaskRefiner, RefinerSettings,
    SELFIE_SEGMENTATION_LANDSCAPE, SegmentationCadence, SegmentationModel, default_background,
};

#[path = "../tests/common/mod.rs"]
mod common;

const W: usize = 1280;
const H: usize = 720;

struct Row {
    name: String,
    median_ms: f64,
    p95_ms: f64,
}

/// Times `f` (after a warm-up); `reset` runs before each sample, untimed.
fn measure(
    name: &str,
    iterations: usize,
    frame: &mut [u8],
    mut reset: impl FnMut(&mut [u8]),
    mut f: impl FnMut(&mut [u8]),
) -> Row {
    for _ in 0..iterations / 10 + 3 {
        reset(frame);
        f(frame);
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        reset(frame);
        let t = Instant::now();
        f(frame);
        samples.push(t.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let row = Row {
        name: name.into(),
        median_ms: samples[samples.len() / 2],
        p95_ms: samples[(samples.len() * 95 / 100).min(samples.len() - 1)],
    };
    eprintln!("{:<70} {:8.3} {:8.3}", row.name, row.median_ms, row.p95_ms);
    row
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn mediapipe_rows(iterations: usize, rgb: &[u8]) -> Result<Vec<Row>, String> {
    let python = std::env::var("TALKLINE_MEDIAPIPE_PYTHON").map_err(|_| {
        "skipped: set TALKLINE_MEDIAPIPE_PYTHON to a Python with mediapipe==0.10.21".to_string()
    })?;
    let dir = std::env::temp_dir().join(format!("talkline-effects-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let model = dir.join("selfie_segmentation_landscape.tflite");
    let frame = dir.join("frame.rgb");
    std::fs::write(&model, SELFIE_SEGMENTATION_LANDSCAPE).map_err(|e| e.to_string())?;
    std::fs::write(&frame, rgb).map_err(|e| e.to_string())?;
    // Read when run, not when built: the build cache is shared between checkouts
    // in different folders, and a binary built in one must not read another's files.
    let manifest_dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let script = format!("{manifest_dir}/reference/bench_mediapipe.py");
    let out = Command::new(python)
        .arg(script)
        .arg(&model)
        .arg(&frame)
        .args([W.to_string(), H.to_string(), iterations.to_string()])
        .output()
        .map_err(|e| format!("skipped: cannot run Python: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(format!(
            "skipped: bench_mediapipe.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            Some(Row {
                name: f.next()?.to_string(),
                median_ms: f.next()?.parse().ok()?,
                p95_ms: f.next()?.parse().ok()?,
            })
        })
        .collect())
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let iterations: usize = std::env::var("TALKLINE_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let source = common::astronaut_720p();
    let mut data = source.clone();
    let mut rows = Vec::new();

    let mut interp = Interpreter::new(SELFIE_SEGMENTATION_LANDSCAPE).unwrap();
    for (i, x) in interp.input_mut().iter_mut().enumerate() {
        *x = (i % 251) as f32 / 251.0;
    }
    rows.push(measure(
        "segmentation: model inference alone (AVX2/FMA if available)",
        iterations,
        &mut data,
        |_| {},
        |_| interp.invoke(),
    ));
    let mut portable = Interpreter::with_portable_kernels(SELFIE_SEGMENTATION_LANDSCAPE).unwrap();
    rows.push(measure(
        "segmentation: model inference alone (portable kernels)",
        iterations / 4,
        &mut data,
        |_| {},
        |_| portable.invoke(),
    ));

    let mut model = SegmentationModel::new().unwrap();
    let mut refiner = MaskRefiner::new(RefinerSettings::default());
    let mut ts = 0u64;
    rows.push(measure(
        "segmentation: I420 -> model input (pre-processing)",
        iterations,
        &mut data,
        |_| {},
        |data| {
            let frame = I420Mut::packed(W, H, data).unwrap();
            model.prepare(&frame);
        },
    ));
    rows.push(measure(
        "segmentation: mask smoothing + guided upsampling to 720p (post)",
        iterations,
        &mut data,
        |_| {},
        |data| {
            let frame = I420Mut::packed(W, H, data).unwrap();
            ts += 33_333;
            refiner.refine(
                model.mask(),
                model.guide(),
                model.size(),
                model.letterbox(),
                &frame,
                ts,
            );
        },
    ));
    rows.push(measure(
        "segmentation: pre + inference + post",
        iterations,
        &mut data,
        |_| {},
        |data| {
            let frame = I420Mut::packed(W, H, data).unwrap();
            model.segment(&frame);
            ts += 33_333;
            refiner.refine(
                model.mask(),
                model.guide(),
                model.size(),
                model.letterbox(),
                &frame,
                ts,
            );
        },
    ));

    let alpha_y = refiner.alpha_y().to_vec();
    let alpha_uv = refiner.alpha_uv().to_vec();
    let mut compositor = BackgroundCompositor::new();
    rows.push(measure(
        "composition: blur (strength 0.8)",
        iterations,
        &mut data,
        |data| data.copy_from_slice(&source),
        |data| {
            let mut frame = I420Mut::packed(W, H, data).unwrap();
            compositor.blur(&mut frame, &alpha_y, &alpha_uv, 0.8);
        },
    ));
    let image = Arc::new(default_background(DefaultBackground::Dusk, 1920, 1080));
    rows.push(measure(
        "composition: replace (picture cached)",
        iterations,
        &mut data,
        |data| data.copy_from_slice(&source),
        |data| {
            let mut frame = I420Mut::packed(W, H, data).unwrap();
            compositor.replace(&mut frame, &alpha_y, &alpha_uv, &image);
        },
    ));
    let mut beauty = BeautyFilter::new();
    rows.push(measure(
        "beauty (strength 0.7)",
        iterations,
        &mut data,
        |data| data.copy_from_slice(&source),
        |data| {
            let mut frame = I420Mut::packed(W, H, data).unwrap();
            beauty.apply(&mut frame, 0.7);
        },
    ));

    let pipelines = [
        (
            "pipeline: segment + blur",
            0.0,
            Background::Blur { strength: 0.8 },
            SegmentationCadence::EveryFrame,
        ),
        (
            "pipeline: beauty + segment + blur",
            0.7,
            Background::Blur { strength: 0.8 },
            SegmentationCadence::EveryFrame,
        ),
        (
            "pipeline: beauty + segment + replace",
            0.7,
            Background::Replace(image.clone()),
            SegmentationCadence::EveryFrame,
        ),
        (
            "pipeline: beauty + blur, segmenting every other frame (mean of 2)",
            0.7,
            Background::Blur { strength: 0.8 },
            SegmentationCadence::EveryOtherFrame,
        ),
    ];
    for (name, beauty, background, cadence) in pipelines {
        let settings = EffectsSettings {
            beauty,
            background,
            cadence,
            ..Default::default()
        };
        let mut pipeline = EffectsPipeline::new(settings).unwrap();
        let mut ts = 0u64;
        let two = cadence == SegmentationCadence::EveryOtherFrame;
        let mut row = measure(
            name,
            iterations,
            &mut data,
            |data| data.copy_from_slice(&source),
            |data| {
                for _ in 0..if two { 2 } else { 1 } {
                    let mut frame = I420Mut::packed(W, H, data).unwrap();
                    ts += 33_333;
                    pipeline.process(&mut frame, ts).unwrap();
                }
            },
        );
        if two {
            row.median_ms /= 2.0;
            row.p95_ms /= 2.0;
        }
        rows.push(row);
    }

    // The same frame as RGB for MediaPipe.
    let (pw, _, photo) = common::read_ppm("astronaut_256.ppm");
    let mut rgb = vec![0u8; W * H * 3];
    for y in 0..H {
        for x in 0..W {
            let s = ((16 + y / 5) * pw + x / 5) * 3;
            rgb[(y * W + x) * 3..][..3].copy_from_slice(&photo[s..s + 3]);
        }
    }
    let mediapipe = mediapipe_rows(iterations, &rgb);

    println!();
    println!(
        "1280x720 frame, one thread, {iterations} iterations; CPU: {}",
        cpu_model()
    );
    println!();
    println!("| stage | median ms | p95 ms |");
    println!("|---|---:|---:|");
    for r in &rows {
        println!("| {} | {:.3} | {:.3} |", r.name, r.median_ms, r.p95_ms);
    }
    match mediapipe {
        Ok(mp) => {
            for r in &mp {
                println!("| {} | {:.3} | {:.3} |", r.name, r.median_ms, r.p95_ms);
            }
        }
        Err(why) => println!("| MediaPipe ({why}) | - | - |"),
    }
}
