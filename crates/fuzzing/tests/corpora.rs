//! The fuzz targets on stable Rust: every input kept in `fuzz/corpus`
//! (what libFuzzer found worth keeping, and every crash it found, which
//! stays there as a regression test), then a seeded round of mutations of
//! them, the same on every run and machine. A short, deterministic stand-in
//! for `scripts/fuzz.sh`, which searches for hours with coverage guidance.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use talkline_fuzzing::{TARGETS, Target};

/// Mutations of its corpus each target runs.
const MUTATIONS_PER_TARGET: usize = 3_000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn corpus(target: &Target) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir().join("corpus").join(target.name);
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            let bytes = std::fs::read(&path).expect("a corpus file");
            (path.display().to_string(), bytes)
        })
        .collect();
    inputs.sort();
    inputs
}

/// Runs `input`; the panic's message if it panicked.
fn run(target: &Target, input: &[u8]) -> Option<String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input)))
        .err()
        .map(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
}

#[test]
fn every_target_has_a_corpus_and_a_libfuzzer_entry_and_nothing_else_is_there() {
    let mut names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    names.sort();
    let listed = |sub: &str, suffix: &str| -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(fuzz_dir().join(sub))
            .expect("the fuzz folder")
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .filter_map(|n| n.strip_suffix(suffix).map(str::to_string))
            .collect();
        found.sort();
        found
    };
    assert_eq!(listed("corpus", ""), names, "fuzz/corpus/<target>");
    assert_eq!(
        listed("fuzz_targets", ".rs"),
        names,
        "fuzz/fuzz_targets/<target>.rs"
    );
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for target in TARGETS {
        assert!(!corpus(target).is_empty(), "{}: empty corpus", target.name);
        let entry = fuzz_dir()
            .join("fuzz_targets")
            .join(format!("{}.rs", target.name));
        let source = std::fs::read_to_string(&entry).expect("a target's source");
        assert!(
            source.contains(&format!("talkline_fuzzing::{}(", target.name)),
            "{} must call talkline_fuzzing::{}",
            entry.display(),
            target.name
        );
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name)),
            "fuzz/Cargo.toml has no [[bin]] for {}",
            target.name
        );
    }
}

#[test]
fn every_kept_input_runs_without_a_panic() {
    let mut failures = Vec::new();
    for target in TARGETS {
        for (path, input) in corpus(target) {
            if let Some(message) = run(target, &input) {
                failures.push(format!("{path}: {message}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// xorshift: the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { self.next() % n }
    }
}

/// One to four of libFuzzer's simpler mutations, and splices of two inputs.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    const INTERESTING: [u8; 10] = [0, 1, 0x7f, 0x80, 0xff, b'\n', b'"', b'%', b'9', b'{'];
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(7) {
            0 if at < out.len() => out[at] ^= 1 << rng.below(8),
            1 if at < out.len() => out[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => out.insert(at, rng.next() as u8),
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            4 if at < out.len() => {
                let end = (at + 1 + rng.below(32)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            5 => {
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            _ => out.truncate(at),
        }
    }
    out
}

#[test]
fn mutations_of_the_kept_inputs_run_without_a_panic() {
    let mut failures = Vec::new();
    for (n, target) in TARGETS.iter().enumerate() {
        let inputs = corpus(target);
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1));
        for _ in 0..MUTATIONS_PER_TARGET {
            let (_, input) = &inputs[rng.below(inputs.len())];
            let (_, other) = &inputs[rng.below(inputs.len())];
            let mutated = mutate(&mut rng, input, other);
            if let Some(message) = run(target, &mutated) {
                failures.push(format!(
                    "{}: {message}\n  input: {mutated:02x?}",
                    target.name
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
