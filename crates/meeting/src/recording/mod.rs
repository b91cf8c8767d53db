//! Recording a meeting on this device: what everyone said (as this device
//! heard it, with our own voice as we sent it) and the video of the one
//! speaking or the screen being shared, into a WebM file in a folder the
//! user chose.
//!
//! Nothing is decoded or encoded again for the picture: the frames kept
//! are the speaker's VP8 as it arrived, switched at a keyframe asked of the
//! next speaker. Audio is mixed and coded once more (Opus), on the
//! recorder's own thread. The file is written a cluster (one or two
//! seconds) at a time and flushed to the disk every few clusters, so a
//! crash of the app, or of the computer, costs the last seconds only; a
//! full disk stops the recording, keeps what was written, and the call
//! goes on.

mod speaker;
mod tap;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use talkline_media::opus_codec::{OPUS_MAX_PACKET, OpusEncoder};
use talkline_media::webm::{WebmRecording, WebmTrack, WebmTracks};
use talkline_media::{AUDIO_FRAME_SAMPLES, AudioFrame, wall_clock_us};
use tokio::sync::oneshot;

pub use speaker::{Candidate, SpeakerChoice};
pub use tap::{RecordingTap, TappedFrame};

use crate::error::MeetingError;
use crate::stats::CallStats;

/// The mix as music is coded: voices, and whatever else was shared.
const AUDIO_BITRATE_BPS: i32 = 64_000;
/// How often the recorder takes what the taps hold.
const TICK: Duration = Duration::from_millis(20);
/// How often it looks again at who speaks.
const LOOK_EVERY: Duration = Duration::from_millis(200);
/// Clusters between flushes to the disk (`sync_data`): about five seconds.
const SYNC_EVERY_CLUSTERS: u32 = 3;
/// The size the video track says it starts at when nobody's is known yet
/// (a keyframe of another size is allowed in VP8, and players follow it).
const DEFAULT_SIZE: (u32, u32) = (640, 360);
/// Files of the same name tried before giving up.
const MAX_SAME_NAME: u32 = 100;

/// Why a recording could not be made, or stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordingProblem {
    DiskFull,
    ReadOnly,
    NoSuchFolder,
    NotAFolder,
    Other(String),
}

impl RecordingProblem {
    pub fn of(e: &io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::DiskFull,
            io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => Self::ReadOnly,
            io::ErrorKind::NotFound => Self::NoSuchFolder,
            io::ErrorKind::NotADirectory => Self::NotAFolder,
            _ => Self::Other(e.to_string()),
        }
    }

    pub fn chinese(&self) -> String {
        match self {
            Self::DiskFull => "磁盘已满".into(),
            Self::ReadOnly => "无法写入（只读，或不属于您）".into(),
            Self::NoSuchFolder => "文件夹不存在".into(),
            Self::NotAFolder => "这不是文件夹".into(),
            Self::Other(why) => why.clone(),
        }
    }
}

impl fmt::Display for RecordingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DiskFull => f.write_str("the disk is full"),
            Self::ReadOnly => f.write_str("it cannot be written to (read-only, or not yours)"),
            Self::NoSuchFolder => f.write_str("the folder does not exist"),
            Self::NotAFolder => f.write_str("it is not a folder"),
            Self::Other(why) => f.write_str(why),
        }
    }
}

/// A recording that ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    pub file: PathBuf,
    pub duration_ms: u64,
    pub bytes: u64,
}

/// The name a recording gets: the meeting and when it began (UTC), which
/// sort in the order they were made.
pub fn file_name(room: u64, unix_secs: i64) -> String {
    let (y, mo, d) = talkline_language::civil_date(unix_secs.div_euclid(86_400));
    let secs = unix_secs.rem_euclid(86_400);
    let (h, mi, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    format!("TalkLine {y:04}-{mo:02}-{d:02} {h:02}.{mi:02}.{s:02} UTC meeting {room}.webm")
}

/// A recording running on its own thread.
pub struct Recorder {
    file: PathBuf,
    stop: Arc<AtomicBool>,
    ended: Option<oneshot::Receiver<Result<RecordingSummary, MeetingError>>>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

impl Recorder {
    /// Starts recording the call whose `tap` and `stats` these are into a
    /// new file `name` in `folder`. A folder that cannot take it is said
    /// at once.
    pub fn start(
        folder: &Path,
        name: &str,
        tap: Arc<RecordingTap>,
        stats: Arc<CallStats>,
    ) -> Result<Self, MeetingError> {
        // One recording of a call at a time: two would share its queues.
        if !tap.start() {
            return Err(MeetingError::AlreadyRecording);
        }
        let started = Self::open(folder, name, &tap, stats);
        if started.is_err() {
            tap.stop();
        }
        started
    }

    fn open(
        folder: &Path,
        name: &str,
        tap: &Arc<RecordingTap>,
        stats: Arc<CallStats>,
    ) -> Result<Self, MeetingError> {
        let refused = |problem| MeetingError::RecordingFolder {
            folder: folder.to_path_buf(),
            problem,
        };
        match std::fs::metadata(folder) {
            Ok(m) if !m.is_dir() => return Err(refused(RecordingProblem::NotAFolder)),
            Ok(_) => {}
            Err(e) => return Err(refused(RecordingProblem::of(&e))),
        }
        // Before the file: an encoder that cannot be made leaves no file.
        let mut encoder = OpusEncoder::for_recording(AUDIO_BITRATE_BPS)?;
        let audio_pre_skip = encoder.pre_skip()?;
        let (path, out) =
            create_new(folder, name).map_err(|e| refused(RecordingProblem::of(&e)))?;
        // Whom the picture starts on, and at what size (players take the
        // track's size as the picture's until a keyframe says otherwise).
        let mut choice = SpeakerChoice::default();
        let shown = choice
            .choose(Instant::now(), &candidates(&stats))
            .unwrap_or(0);
        let size = stats
            .remote_by_feed(shown)
            .map(|r| {
                (
                    r.video_width.load(Ordering::Relaxed),
                    r.video_height.load(Ordering::Relaxed),
                )
            })
            .filter(|&(w, h)| w > 0 && h > 0)
            .unwrap_or(DEFAULT_SIZE);
        let tracks = WebmTracks {
            video: size,
            audio_pre_skip,
        };
        let webm = match WebmRecording::begin(out, tracks, "TalkLine") {
            Ok(w) => w,
            Err(e) => {
                // Nothing of the recording is in it: not left behind.
                let _ = std::fs::remove_file(&path);
                return Err(refused(RecordingProblem::of(&e)));
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        let (done, ended) = oneshot::channel();
        let run = Run {
            file: path.clone(),
            webm,
            encoder,
            tap: Arc::clone(tap),
            stats,
            stop: Arc::clone(&stop),
            choice,
            shown,
        };
        tap.show(shown);
        let thread = std::thread::Builder::new()
            .name("talkline-recorder".into())
            .spawn(move || {
                let tap = Arc::clone(&run.tap);
                let result = run.record();
                tap.stop();
                let _ = done.send(result);
            });
        match thread {
            Ok(thread) => Ok(Self {
                file: path,
                stop,
                ended: Some(ended),
                thread: Some(thread),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(MeetingError::RecordingStopped {
                    file: path,
                    problem: RecordingProblem::Other(e.to_string()),
                })
            }
        }
    }

    /// The file being written.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Waits until the recording ends: stopped (`stop`), or on its own
    /// when the file cannot be written any more. Once only; safe to give
    /// up waiting and wait again (a `select!` branch).
    pub async fn ended(&mut self) -> Result<RecordingSummary, MeetingError> {
        let Some(ended) = self.ended.as_mut() else {
            return std::future::pending().await;
        };
        let result = ended.await;
        self.ended = None;
        result.unwrap_or_else(|_| {
            Err(MeetingError::RecordingStopped {
                file: self.file.clone(),
                problem: RecordingProblem::Other("the recorder stopped".into()),
            })
        })
    }

    /// Stops and finishes the file (its last seconds and its length).
    pub async fn stop(mut self) -> Result<RecordingSummary, MeetingError> {
        self.stop.store(true, Ordering::Relaxed);
        let result = self.ended().await;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        result
    }
}

impl Drop for Recorder {
    /// A recording left running (the call ended) is finished by its thread.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A new file: never one that exists, which gets " (2)" and so on.
fn create_new(folder: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let stem = name.strip_suffix(".webm").unwrap_or(name);
    for n in 1..=MAX_SAME_NAME {
        let candidate = match n {
            1 => folder.join(format!("{stem}.webm")),
            n => folder.join(format!("{stem} ({n}).webm")),
        };
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "too many recordings of that name",
    ))
}

/// The recorder's thread.
struct Run {
    file: PathBuf,
    webm: WebmRecording<File>,
    encoder: OpusEncoder,
    tap: Arc<RecordingTap>,
    stats: Arc<CallStats>,
    stop: Arc<AtomicBool>,
    /// Whose video is recorded, and how that is chosen.
    choice: SpeakerChoice,
    shown: u64,
}

/// Everyone else, as the choice of whom to show sees them.
fn candidates(stats: &CallStats) -> Vec<Candidate> {
    stats
        .remotes()
        .iter()
        .map(|r| Candidate {
            feed: r.feed_id,
            speaking: r.speaking(),
            screen: r.screen.load(Ordering::Relaxed),
            has_video: r.showing_video(),
        })
        .collect()
}

impl Run {
    fn record(mut self) -> Result<RecordingSummary, MeetingError> {
        let started_us = wall_clock_us();
        let started = Instant::now();
        let mut shown = self.shown;
        let mut waiting_for_keyframe = true;
        let mut next_look = started + LOOK_EVERY;
        let mut packet = [0u8; OPUS_MAX_PACKET];
        let mut mixed = AudioFrame::default();
        // The audio's place in time: when its first packet was due, then
        // 20 ms a packet.
        let mut audio_from_ms: Option<u64> = None;
        let mut packets: u64 = 0;
        let mut clusters: u32 = 0;
        loop {
            let stopping = self.stop.load(Ordering::Relaxed);
            let now = Instant::now();
            if now >= next_look {
                next_look = now + LOOK_EVERY;
                let chosen = self
                    .choice
                    .choose(now, &candidates(&self.stats))
                    .unwrap_or(0);
                if chosen != shown {
                    shown = chosen;
                    waiting_for_keyframe = true;
                    self.tap.show(chosen);
                }
            }
            // Frames dropped while this thread stalled (a slow disk): the
            // picture goes on from a keyframe, asked for now.
            if self.tap.take_video_lost() {
                waiting_for_keyframe = true;
                self.tap.show(shown);
            }
            let mut wrote = false;
            while let Some(frame) = self.tap.next_video() {
                if frame.feed != shown || (waiting_for_keyframe && !frame.keyframe) {
                    continue;
                }
                waiting_for_keyframe = false;
                let at_ms = frame.at_us.saturating_sub(started_us) / 1000;
                wrote |= self.write(WebmTrack::Video, at_ms, frame.keyframe, &frame.data)?;
            }
            let (heard, said) = self.tap.audio_waiting();
            for _ in 0..heard.max(said) {
                let heard = self.tap.next_heard();
                let said = self.tap.next_said();
                mix(heard.as_ref(), said.as_ref(), &mut mixed);
                match self.encoder.push(&mixed, &mut packet) {
                    Ok(Some(len)) => {
                        let from = *audio_from_ms.get_or_insert_with(|| {
                            (started.elapsed().as_millis() as u64).saturating_sub(20)
                        });
                        let at_ms = from + packets * 20;
                        packets += 1;
                        wrote |= self.write(WebmTrack::Audio, at_ms, true, &packet[..len])?;
                    }
                    Ok(None) => {}
                    Err(e) => log::warn!("recording: audio not coded: {e}"),
                }
            }
            if wrote {
                clusters += 1;
                if clusters.is_multiple_of(SYNC_EVERY_CLUSTERS) {
                    let synced = self.webm.file().sync_data();
                    synced.map_err(|e| self.stopped(&e))?;
                }
            }
            if stopping {
                break;
            }
            std::thread::sleep(TICK);
        }
        let file = self.file.clone();
        let stopped = |e: io::Error| MeetingError::RecordingStopped {
            file: file.clone(),
            problem: RecordingProblem::of(&e),
        };
        let finished = self.webm.finish().map_err(stopped)?;
        finished.file.sync_all().map_err(stopped)?;
        Ok(RecordingSummary {
            file: file.clone(),
            duration_ms: finished.duration_ms,
            bytes: finished.bytes,
        })
    }

    fn write(
        &mut self,
        track: WebmTrack,
        at_ms: u64,
        keyframe: bool,
        data: &[u8],
    ) -> Result<bool, MeetingError> {
        self.webm
            .add(track, at_ms, keyframe, data)
            .map_err(|e| self.stopped(&e))
    }

    fn stopped(&self, e: &io::Error) -> MeetingError {
        log::warn!("recording stopped: {}", RecordingProblem::of(e));
        MeetingError::RecordingStopped {
            file: self.file.clone(),
            problem: RecordingProblem::of(e),
        }
    }
}

/// Everyone else and us, as one signal (clipped, as a speaker would).
fn mix(heard: Option<&AudioFrame>, said: Option<&AudioFrame>, out: &mut AudioFrame) {
    const SILENCE: [i16; AUDIO_FRAME_SAMPLES] = [0; AUDIO_FRAME_SAMPLES];
    let heard = heard.map_or(&SILENCE, |f| &f.samples);
    let said = said.map_or(&SILENCE, |f| &f.samples);
    for ((o, &h), &s) in out.samples.iter_mut().zip(heard).zip(said) {
        *o = h.saturating_add(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_are_named_by_meeting_and_start_and_never_overwrite() {
        // 2026-12-07 21:40:05 UTC.
        assert_eq!(
            file_name(1234, 1_796_679_605),
            "TalkLine 2026-12-07 21.40.05 UTC meeting 1234.webm"
        );
        let folder = std::env::temp_dir().join(format!("talkline-names-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("in a test");
        let (first, _) = create_new(&folder, "a.webm").expect("in a test");
        let (second, _) = create_new(&folder, "a.webm").expect("in a test");
        assert_eq!(first.file_name().expect("in a test"), "a.webm");
        assert_eq!(second.file_name().expect("in a test"), "a (2).webm");
        std::fs::remove_dir_all(&folder).expect("in a test");
    }

    #[test]
    fn a_folder_that_cannot_take_a_recording_is_said_at_once() {
        let stats = CallStats::new(Instant::now());
        let tap = Arc::new(RecordingTap::default());
        let missing = std::env::temp_dir().join("talkline-no-such-folder/deeper");
        let e = Recorder::start(&missing, "x.webm", Arc::clone(&tap), Arc::clone(&stats))
            .expect_err("no folder");
        assert!(matches!(
            e,
            MeetingError::RecordingFolder {
                problem: RecordingProblem::NoSuchFolder,
                ..
            }
        ));
        let file = std::env::temp_dir().join(format!("talkline-a-file-{}", std::process::id()));
        std::fs::write(&file, b"x").expect("in a test");
        let e = Recorder::start(&file, "x.webm", Arc::clone(&tap), Arc::clone(&stats))
            .expect_err("a file");
        assert!(
            e.to_string()
                .contains("it is not a folder; choose another folder"),
            "{e}"
        );
        std::fs::remove_file(&file).expect("in a test");
        assert!(!tap.is_on());
        // A second recording of the same call is refused, and leaves the
        // first one's tap as it was.
        assert!(tap.start());
        let e = Recorder::start(&std::env::temp_dir(), "x.webm", Arc::clone(&tap), stats)
            .expect_err("one at a time");
        assert!(matches!(e, MeetingError::AlreadyRecording));
        assert!(tap.is_on());
    }

    #[test]
    fn the_mix_is_both_sides_clipped_not_wrapped() {
        let mut out = AudioFrame::default();
        let loud = AudioFrame {
            samples: [30_000; AUDIO_FRAME_SAMPLES],
        };
        mix(Some(&loud), Some(&loud), &mut out);
        assert_eq!(out.samples[0], i16::MAX);
        mix(
            None,
            Some(&AudioFrame {
                samples: [5; AUDIO_FRAME_SAMPLES],
            }),
            &mut out,
        );
        assert_eq!(out.samples[9], 5);
    }
}
