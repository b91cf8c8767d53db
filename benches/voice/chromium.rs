//! Chromium's audio processing, fed a microphone signal from a WAV file
//! (`--use-file-for-fake-audio-capture`) and recorded after processing by
//! a page (`chromium.html`) that posts the samples back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::echo_room::{FRAME, RATE};

#[derive(Debug, Clone)]
pub enum Processing {
    /// Noise suppression alone (no echo cancellation, no gain control).
    NoiseOnly,
    /// Echo cancellation and noise suppression (no gain control), the
    /// page playing `far` (48 kHz) as the microphone's file starts.
    EchoAndNoise { far: Vec<f64> },
}

/// Lead put before the signal: the page starts recording a moment after
/// the fake microphone starts reading the file. Noise only: the noise
/// suppressor learns from it as from the scene's own start.
const NOISE_LEAD_SECONDS: f64 = 2.0;
/// With an echo, the far end's sound must start playing before its echo
/// reaches the file: the page starts playing as soon as the microphone
/// opens, and the echo in the file waits this long more (the echo path's
/// delay as Chromium sees it is the scene's plus this, less the page's
/// start-up, which cannot be known).
const ECHO_LEAD_SECONDS: f64 = 0.3;

/// What Chromium's page recorded after processing.
pub struct Recording {
    /// Aligned to the microphone's signal.
    pub samples: Vec<f64>,
    /// With a far end: by how much less its echo came late than in the
    /// scene (the file's lead less the page's start-up), in ms. The path
    /// through the loopback peer connection and the output takes a little
    /// more that cannot be measured here.
    pub echo_earlier_ms: Option<f64>,
}

/// Runs `mic` (48 kHz samples) through Chromium's processing.
pub fn process(scratch: &Path, mic: &[f64], processing: &Processing) -> Result<Recording, String> {
    let (lead_seconds, constraints, far) = match processing {
        Processing::NoiseOnly => (NOISE_LEAD_SECONDS, "ns=1&aec=0&agc=0", None),
        Processing::EchoAndNoise { far } => {
            (ECHO_LEAD_SECONDS, "ns=1&aec=1&agc=0&far=1", Some(far))
        }
    };
    let lead = (lead_seconds * RATE as f64) as usize;
    // Noise first for the noise suppressor; silence before an echo, so
    // that none of it comes before its sound is played.
    let mut file = match far {
        None => mic[..lead.min(mic.len())].to_vec(),
        Some(_) => vec![0.0; lead],
    };
    file.extend_from_slice(mic);
    let wav = scratch.join("chromium-mic.wav");
    super::write_wav(&wav, &file);
    let far_wav = far.map(|far| {
        let path = scratch.join("chromium-far.wav");
        super::write_wav(&path, far);
        path
    });

    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (tx, rx) = mpsc::channel();
    let far_bytes = far_wav
        .map(std::fs::read)
        .transpose()
        .map_err(|e| e.to_string())?;
    std::thread::spawn(move || serve(listener, tx, far_bytes));
    let seconds = file.len() / RATE + 1;
    let profile = scratch.join("chromium-profile");
    // The far end reaches the page over a loopback peer connection.
    let mut child = Command::new("chromium")
        .args(super::chromium_flags::HEADLESS_MEDIA)
        .arg(format!(
            "--use-file-for-fake-audio-capture={}%noloop",
            wav.display()
        ))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!(
            "http://127.0.0.1:{port}/?seconds={seconds}&{constraints}"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start chromium (Debian package `chromium`): {e}"))?;
    let reply = rx.recv_timeout(Duration::from_secs(seconds as u64 + 60));
    let _ = child.kill();
    let _ = child.wait();
    let recorded = match reply {
        Ok(Ok(reply)) => reply,
        Ok(Err(page_error)) => return Err(format!("the page failed: {page_error}")),
        Err(_) => return Err("the page sent nothing back".into()),
    };
    let (recorded, far_started_ms) = recorded;
    let recorded: Vec<f64> = recorded.iter().map(|&s| f64::from(s) * 32768.0).collect();
    let start = alignment(&file, &recorded, lead)
        .ok_or("the recording does not match the microphone's file")?;
    // recorded[i] is file[i + start]: mic[i] is file[i + lead].
    let samples = (0..mic.len())
        .map(|i| {
            (i + lead)
                .checked_sub(start)
                .and_then(|j| recorded.get(j))
                .copied()
                .unwrap_or(0.0)
        })
        .collect();
    Ok(Recording {
        samples,
        echo_earlier_ms: far.map(|_| far_started_ms - lead_seconds * 1000.0),
    })
}

/// Where in `file` the recording starts, to 10 ms: the offset that best
/// lines up their 10 ms loudness (processing changes the noise, not the
/// voice's rhythm).
fn alignment(file: &[f64], recorded: &[f64], lead: usize) -> Option<usize> {
    let envelope = |s: &[f64]| -> Vec<f64> {
        s.chunks_exact(FRAME)
            .map(|f| (f.iter().map(|x| x * x).sum::<f64>() / FRAME as f64 + 1.0).log10())
            .collect()
    };
    let (a, b) = (envelope(file), envelope(recorded));
    let correlation = |x: &[f64], y: &[f64]| {
        let n = x.len().min(y.len()) as f64;
        let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (p, q) in x.iter().zip(y) {
            sxy += (p - mx) * (q - my);
            sxx += (p - mx) * (p - mx);
            syy += (q - my) * (q - my);
        }
        sxy / (sxx * syy).sqrt().max(1e-12)
    };
    let lead_frames = lead / FRAME;
    let span = b.len().min(a.len()).saturating_sub(lead_frames + 100);
    let coarse = (0..=lead_frames + 50)
        .filter(|&lag| lag + span <= a.len())
        .max_by(|&x, &y| {
            correlation(&a[x..x + span], &b[..span])
                .total_cmp(&correlation(&a[y..y + span], &b[..span]))
        })?;
    // To the 10 ms: the caller lines the voice up to the sample.
    Some(coarse * FRAME)
}

/// The page's server: the page itself, and its one reply.
fn serve(
    listener: TcpListener,
    reply: mpsc::Sender<Result<(Vec<f32>, f64), String>>,
    far: Option<Vec<u8>>,
) {
    for stream in listener.incoming().map_while(Result::ok) {
        let mut reader = BufReader::new(match stream.try_clone() {
            Ok(s) => s,
            Err(_) => continue,
        });
        let mut request = String::new();
        if reader.read_line(&mut request).is_err() {
            continue;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length.min(64 << 20)];
        if reader.read_exact(&mut body).is_err() {
            continue;
        }
        let path = request.split_whitespace().nth(1).unwrap_or("/");
        let page: &[u8] = if path.starts_with("/far.wav") {
            far.as_deref().unwrap_or_default()
        } else if path.starts_with("/pcm") {
            let samples = body
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let startup = path
                .split("startup_ms=")
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0);
            let _ = reply.send(Ok((samples, startup)));
            b""
        } else if path.starts_with("/error") {
            let _ = reply.send(Err(String::from_utf8_lossy(&body).into_owned()));
            b""
        } else {
            include_bytes!("chromium.html")
        };
        let mut out = stream;
        let _ = write!(
            out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            page.len()
        );
        let _ = out.write_all(page);
    }
}
