//! Recording a meeting on this device, through real Janus: the file plays
//! back (read as a player reads it, its frames decoded) with the speaker's
//! video and everyone's voice; a folder that cannot take it, or a disk that
//! fills up mid-recording, is said and the call goes on; a run killed
//! mid-recording leaves a file that plays up to its last seconds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use matroska_demuxer::Frame;

use crate::playback::{pictures, play, sound, tone_in};
use crate::support::{Client, Janus, scratch_dir};

/// The file a run said it records into.
fn recording_file(ann: &Client, since: usize) -> PathBuf {
    ann.wait_for_since("recording the meeting to ", since, Duration::from_secs(5));
    let lines = ann.output();
    let line = lines[since..]
        .iter()
        .find_map(|l| {
            l.split_once("recording the meeting to ")
                .map(|(_, f)| f.to_string())
        })
        .expect("the file");
    PathBuf::from(line)
}

/// Ann, in a mount namespace of her own where `full` is a 512 KiB disk
/// and `read_only` cannot be written at all (root can write anywhere
/// else).
fn ann_with_small_disks(link: &str, full: &Path, read_only: &Path) -> Client {
    let script = "mount -t tmpfs -o size=512k tmpfs \"$0\" && mount -t tmpfs -o ro tmpfs \"$1\" && shift && exec \"$@\"";
    let mut wrapper = Command::new("unshare");
    wrapper.args(["-m", "--propagation", "private", "sh", "-c", script]);
    wrapper.arg(full).arg(read_only);
    Client::wrapped(
        wrapper,
        &["join", link],
        "Ann",
        &["--mic", "test:300", "--camera", "none"],
    )
}

#[test]
fn a_recording_plays_back_with_the_speakers_video_and_everyones_voice() {
    let janus = Janus::start();
    let link = janus.link(1234);
    let folder = scratch_dir("recordings");
    let full = scratch_dir("recordings-full");
    let read_only = scratch_dir("recordings-read-only");
    // Bea speaks at 320x180; Cal is silent at 640x360: the speaker is
    // Bea, and her picture is told from Cal's by its size.
    let bea = Client::join(
        &link,
        "Bea",
        &["--mic", "test:1000", "--camera", "test:320x180@30"],
    );
    let cal = Client::join(
        &link,
        "Cal",
        &["--mic", "none", "--camera", "test:640x360@30", "--no-chat"],
    );
    let mut ann = ann_with_small_disks(&link, &full, &read_only);
    for who in ["Bea", "Cal"] {
        ann.wait_for(&format!("+ {who} joined"), Duration::from_secs(15));
    }
    bea.wait_for("+ Ann joined", Duration::from_secs(10));
    cal.wait_for("+ Ann joined", Duration::from_secs(10));
    // Everyone's media flows before the recording starts.
    std::thread::sleep(Duration::from_secs(2));

    // A folder that cannot take a recording: said, and nothing else.
    ann.send_line(&format!("record {}", read_only.display()));
    ann.wait_for_error(
        "it cannot be written to (read-only, or not yours); choose another folder for recordings",
        Duration::from_secs(5),
    );

    let since = ann.lines_so_far();
    let bea_since = bea.lines_so_far();
    ann.send_line(&format!("record {}", folder.display()));
    let file = recording_file(&ann, since);
    assert_eq!(file.parent(), Some(folder.as_path()));
    // Everyone is told, a newcomer too.
    bea.wait_for_since(
        "● Ann is recording this meeting",
        bea_since,
        Duration::from_secs(5),
    );
    let dee = Client::join(&link, "Dee", &["--mic", "none", "--camera", "none"]);
    dee.wait_for("● Ann is recording this meeting", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(6));
    let bea_since = bea.lines_so_far();
    ann.send_line("record stop");
    ann.wait_for_since("recording saved: ", since, Duration::from_secs(5));
    bea.wait_for_since(
        "nobody else is recording this meeting now",
        bea_since,
        Duration::from_secs(5),
    );

    let played = play(&file);
    assert_eq!(played.codecs, ["V_VP8", "A_OPUS"]);
    let duration = played
        .duration_ms
        .expect("a finished recording says its length");
    assert!((5_000.0..8_000.0).contains(&duration), "{duration} ms");
    // Audio all along: 20 ms a packet.
    let audio_ms = played.audio.len() as f64 * 20.0;
    assert!(
        (duration - audio_ms).abs() < 1_000.0,
        "{audio_ms} ms of audio in {duration} ms"
    );
    // Bea's video, from a keyframe on, at about her 30 fps.
    let (sizes, stamped) = pictures(&played.video);
    assert!(!sizes.is_empty() && played.video[0].is_keyframe == Some(true));
    assert!(
        sizes.iter().all(|&s| s == (320, 180)),
        "pictures of sizes {sizes:?}"
    );
    assert!(
        played.video.len() >= 120,
        "{} video frames",
        played.video.len()
    );
    assert!(
        stamped * 10 >= played.video.len() * 9,
        "{stamped} of {} frames decode to Bea's picture",
        played.video.len()
    );
    // Bea's voice, as Ann heard it, and Ann's own.
    let pcm = sound(&played.audio);
    assert!(tone_in(&pcm, 1000.0), "Bea is not heard in the recording");
    assert!(tone_in(&pcm, 300.0), "Ann is not heard in the recording");

    // A disk that fills up: the recording stops and says so, what it
    // holds plays, and the call goes on.
    let since = ann.lines_so_far();
    ann.send_line(&format!("record {}", full.display()));
    recording_file(&ann, since);
    ann.wait_for_error(
        "the recording stopped: the disk is full",
        Duration::from_secs(20),
    );
    // The small disk is Ann's alone: seen through her process.
    let full_seen = PathBuf::from(format!("/proc/{}/root", ann.pid()))
        .join(full.strip_prefix("/").expect("an absolute path"));
    let kept = std::fs::read_dir(&full_seen)
        .expect("the small disk")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()
        .expect("the file it was writing");
    let played = play(&kept);
    assert!(played.video.len() >= 30 && played.audio.len() >= 50);
    let frames = |ann: &mut Client| {
        crate::support::remote(&ann.stats_now(), "Bea")["video_frames_decoded"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = frames(&mut ann);
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        frames(&mut ann) > before + 15,
        "the call stopped with the recording"
    );

    // Killed mid-recording: the file plays up to its last seconds.
    let since = ann.lines_so_far();
    ann.send_line(&format!("record {}", folder.display()));
    let file = recording_file(&ann, since);
    std::thread::sleep(Duration::from_secs(6));
    let killed = Command::new("kill")
        .args(["-KILL", &ann.pid().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let played = play(&file);
    assert_eq!(played.duration_ms, None, "a cut recording claims no length");
    let last_ms = |frames: &[Frame]| frames.iter().map(|f| f.timestamp).max().unwrap_or(0);
    // Six seconds recorded; the last cluster (up to two) may be lost.
    assert!(
        last_ms(&played.video) >= 3_000,
        "video until {} ms",
        last_ms(&played.video)
    );
    assert!(
        last_ms(&played.audio) >= 3_000,
        "audio until {} ms",
        last_ms(&played.audio)
    );
    assert!(tone_in(&sound(&played.audio), 1000.0));
}
