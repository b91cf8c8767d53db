//! WebM files (VP8 video, Opus audio) written a cluster at a time, for
//! recordings kept on this device.
//!
//! The segment is written with an unknown size and each cluster whole, a
//! second or two at a time, each starting at a video keyframe where it can:
//! a file cut off anywhere (the app killed, the disk full) still plays up
//! to its last complete cluster, which is what a player reads of a live
//! stream anyway. The muxing itself is `webm-iterable`'s; this module
//! decides what goes where and when.
//!
//! Once the recording ends normally, the segment's duration is written into
//! the header in place of a Void element reserved for it when the file was
//! begun, so that players show the length and a seek bar. A file cut off
//! says no duration at all (as a live stream), rather than a wrong one.

use std::io::{self, Seek, SeekFrom, Write};

use webm_iterable::WebmWriter;
use webm_iterable::WriteOptions;
use webm_iterable::matroska_spec::{Master, MatroskaSpec, SimpleBlock};

/// Timestamps are in milliseconds.
const TIMESTAMP_SCALE_NS: u64 = 1_000_000;
/// A cluster is closed at the first video keyframe after this long, or at
/// any block after `CLUSTER_MAX_MS` (video without keyframes, audio only):
/// the most a crash can take from the end of a recording.
const CLUSTER_MIN_MS: u64 = 1_000;
const CLUSTER_MAX_MS: u64 = 2_000;
/// What an Opus decoder needs before a point it seeks to (RFC 7845 §4.6).
const OPUS_SEEK_PRE_ROLL_NS: u64 = 80_000_000;
const VIDEO_TRACK: u64 = 1;
const AUDIO_TRACK: u64 = 2;
/// The Void element the header reserves for the duration (its id, its
/// size of 9 and 9 bytes)...
const DURATION_SLOT: [u8; 11] = [0xEC, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/// ...and what takes its place: Duration's id, the size of an 8-byte float.
const DURATION_HEADER: [u8; 3] = [0x44, 0x89, 0x88];

/// The tracks of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebmTracks {
    /// The picture size the video starts at (a later keyframe may change
    /// it, as VP8 allows).
    pub video: (u32, u32),
    /// Opus, mono at 48 kHz, with this pre-skip (`OpusEncoder::pre_skip`).
    pub audio_pre_skip: u16,
}

/// Which track a block belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebmTrack {
    Video,
    Audio,
}

struct PendingBlock {
    track: WebmTrack,
    at_ms: u64,
    keyframe: bool,
    data: Vec<u8>,
}

/// A WebM file being written. `W` is the file (or anything written and
/// sought like one).
pub struct WebmRecording<W: Write + Seek> {
    writer: WebmWriter<Counted<W>>,
    /// Where the slot for the duration is in the file.
    duration_at: Option<u64>,
    cluster: Vec<PendingBlock>,
    cluster_start_ms: Option<u64>,
    /// The last timestamp written, so that blocks never go back in time
    /// across clusters (a player would drop or reorder them).
    last_ms: u64,
    /// Buffers of blocks written, reused for the next cluster.
    spare: Vec<Vec<u8>>,
}

impl<W: Write + Seek> WebmRecording<W> {
    /// Begins the file: header, segment and track descriptions.
    pub fn begin(out: W, tracks: WebmTracks, writing_app: &str) -> io::Result<Self> {
        let mut writer = WebmWriter::new(Counted {
            inner: out,
            written: 0,
            start: Vec::with_capacity(HEADER_KEPT),
        });
        writer
            .write(&MatroskaSpec::Ebml(Master::Full(vec![
                MatroskaSpec::EbmlVersion(1),
                MatroskaSpec::EbmlReadVersion(1),
                MatroskaSpec::EbmlMaxIdLength(4),
                MatroskaSpec::EbmlMaxSizeLength(8),
                MatroskaSpec::DocType("webm".into()),
                MatroskaSpec::DocTypeVersion(4),
                MatroskaSpec::DocTypeReadVersion(2),
            ])))
            .map_err(muxing)?;
        writer
            .write_advanced(
                &MatroskaSpec::Segment(Master::Start),
                WriteOptions::is_unknown_sized_element(),
            )
            .map_err(muxing)?;
        writer
            .write(&MatroskaSpec::Info(Master::Full(vec![
                MatroskaSpec::TimestampScale(TIMESTAMP_SCALE_NS),
                MatroskaSpec::Void(vec![0; DURATION_SLOT.len() - 2]),
                MatroskaSpec::MuxingApp(writing_app.into()),
                MatroskaSpec::WritingApp(writing_app.into()),
            ])))
            .map_err(muxing)?;
        let (width, height) = tracks.video;
        writer
            .write(&MatroskaSpec::Tracks(Master::Full(vec![
                MatroskaSpec::TrackEntry(Master::Full(vec![
                    MatroskaSpec::TrackNumber(VIDEO_TRACK),
                    MatroskaSpec::TrackUID(VIDEO_TRACK),
                    MatroskaSpec::TrackType(1),
                    MatroskaSpec::CodecID("V_VP8".into()),
                    MatroskaSpec::Video(Master::Full(vec![
                        MatroskaSpec::PixelWidth(u64::from(width)),
                        MatroskaSpec::PixelHeight(u64::from(height)),
                    ])),
                ])),
                MatroskaSpec::TrackEntry(Master::Full(vec![
                    MatroskaSpec::TrackNumber(AUDIO_TRACK),
                    MatroskaSpec::TrackUID(AUDIO_TRACK),
                    MatroskaSpec::TrackType(2),
                    MatroskaSpec::CodecID("A_OPUS".into()),
                    MatroskaSpec::CodecPrivate(opus_head(tracks.audio_pre_skip).to_vec()),
                    MatroskaSpec::CodecDelay(
                        u64::from(tracks.audio_pre_skip) * 1_000_000_000
                            / u64::from(crate::AUDIO_RATE_HZ),
                    ),
                    MatroskaSpec::SeekPreRoll(OPUS_SEEK_PRE_ROLL_NS),
                    MatroskaSpec::Audio(Master::Full(vec![
                        MatroskaSpec::SamplingFrequency(f64::from(crate::AUDIO_RATE_HZ)),
                        MatroskaSpec::Channels(1),
                    ])),
                ])),
            ])))
            .map_err(muxing)?;
        let counted = writer.get_ref();
        let duration_at = counted
            .start
            .windows(DURATION_SLOT.len())
            .position(|w| w == DURATION_SLOT)
            .map(|at| at as u64);
        Ok(Self {
            writer,
            duration_at,
            cluster: Vec::new(),
            cluster_start_ms: None,
            last_ms: 0,
            spare: Vec::new(),
        })
    }

    /// Adds one frame (a VP8 frame, or an Opus packet) at `at_ms` from the
    /// start. Returns whether a cluster was written to the file by it.
    pub fn add(
        &mut self,
        track: WebmTrack,
        at_ms: u64,
        keyframe: bool,
        data: &[u8],
    ) -> io::Result<bool> {
        let mut wrote = false;
        if let Some(start) = self.cluster_start_ms {
            let age = at_ms.saturating_sub(start);
            let at_keyframe = track == WebmTrack::Video && keyframe;
            if (at_keyframe && age >= CLUSTER_MIN_MS) || age >= CLUSTER_MAX_MS {
                self.write_cluster()?;
                wrote = true;
            }
        }
        // Never before what the file already holds (a cluster just written
        // can end later than this block, the other track ahead).
        let at_ms = at_ms.max(self.last_ms);
        let start = *self.cluster_start_ms.get_or_insert(at_ms);
        let mut buffer = self.spare.pop().unwrap_or_default();
        buffer.clear();
        buffer.extend_from_slice(data);
        self.cluster.push(PendingBlock {
            track,
            at_ms: at_ms.max(start),
            keyframe: keyframe || track == WebmTrack::Audio,
            data: buffer,
        });
        Ok(wrote)
    }

    /// Writes what is pending as one cluster, and hands it to the file.
    pub fn write_cluster(&mut self) -> io::Result<()> {
        let Some(start) = self.cluster_start_ms.take() else {
            return Ok(());
        };
        // Audio and video come in separately: in time order within the
        // cluster, as players read them.
        self.cluster.sort_by_key(|b| b.at_ms);
        let mut children = Vec::with_capacity(self.cluster.len() + 1);
        children.push(MatroskaSpec::Timestamp(start));
        for block in &self.cluster {
            let offset = i16::try_from(block.at_ms - start).unwrap_or(i16::MAX);
            let number = match block.track {
                WebmTrack::Video => VIDEO_TRACK,
                WebmTrack::Audio => AUDIO_TRACK,
            };
            let simple = SimpleBlock::new_uncheked(
                &block.data,
                number,
                offset,
                false,
                None,
                false,
                block.keyframe,
            );
            children.push(simple.into());
        }
        if let Some(last) = self.cluster.last() {
            self.last_ms = last.at_ms;
        }
        let written = self
            .writer
            .write(&MatroskaSpec::Cluster(Master::Full(children)))
            .map_err(muxing);
        for block in self.cluster.drain(..) {
            if self.spare.len() < MAX_SPARE_BUFFERS {
                self.spare.push(block.data);
            }
        }
        written
    }

    /// The file, to make what was written durable (`sync_data`).
    pub fn file(&mut self) -> &mut W {
        &mut self.writer.get_mut().inner
    }

    /// Writes the last cluster and the duration: the file, and what it holds.
    pub fn finish(mut self) -> io::Result<Finished<W>> {
        self.write_cluster()?;
        let duration_ms = self.last_ms as f64;
        let duration_at = self.duration_at;
        let mut counted = self.writer.into_inner().map_err(muxing)?;
        if let Some(at) = duration_at {
            let end = counted.written;
            let mut duration = [0u8; DURATION_SLOT.len()];
            duration[..3].copy_from_slice(&DURATION_HEADER);
            duration[3..].copy_from_slice(&duration_ms.to_be_bytes());
            counted.inner.seek(SeekFrom::Start(at))?;
            counted.inner.write_all(&duration)?;
            counted.inner.seek(SeekFrom::Start(end))?;
        }
        counted.inner.flush()?;
        Ok(Finished {
            duration_ms: self.last_ms,
            bytes: counted.written,
            file: counted.inner,
        })
    }
}

/// A recording's file once finished.
pub struct Finished<W> {
    pub file: W,
    /// Its last timestamp, in ms.
    pub duration_ms: u64,
    pub bytes: u64,
}

/// Blocks' buffers kept for reuse between clusters.
const MAX_SPARE_BUFFERS: usize = 256;
/// The file's first bytes, kept to find the duration's place in them.
const HEADER_KEPT: usize = 512;

/// The file, counting what goes into it (and keeping the first bytes).
struct Counted<W> {
    inner: W,
    written: u64,
    start: Vec<u8>,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let keep = n.min(HEADER_KEPT.saturating_sub(self.start.len()));
        self.start.extend_from_slice(&buf[..keep]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Opus's identification header (RFC 7845 §5.1), WebM's CodecPrivate for
/// Opus: mono, 48 kHz, no gain, channel mapping family 0.
fn opus_head(pre_skip: u16) -> [u8; 19] {
    let mut head = [0u8; 19];
    head[..8].copy_from_slice(b"OpusHead");
    head[8] = 1;
    head[9] = 1;
    head[10..12].copy_from_slice(&pre_skip.to_le_bytes());
    head[12..16].copy_from_slice(&crate::AUDIO_RATE_HZ.to_le_bytes());
    head
}

/// The muxer's errors are I/O errors at heart (a full disk, a file gone);
/// the rest are ours to never cause, and are I/O errors of a kind too.
fn muxing(e: webm_iterable::errors::TagWriterError) -> io::Error {
    match e {
        webm_iterable::errors::TagWriterError::WriteError { source } => source,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matroska_demuxer::{Frame, MatroskaFile, TrackType};
    use std::io::Cursor;

    const TRACKS: WebmTracks = WebmTracks {
        video: (320, 180),
        audio_pre_skip: 312,
    };

    /// Three seconds: video at 10 fps with a keyframe every second, and
    /// a 20 ms Opus packet each 20 ms (bytes standing for them).
    fn record(into: &mut WebmRecording<Cursor<Vec<u8>>>, until_ms: u64) {
        let mut clusters = 0;
        for at in (0..until_ms).step_by(20) {
            if at % 100 == 0 {
                let key = at % 1000 == 0;
                let frame = [u8::from(key), (at / 100) as u8, 7, 7];
                clusters += usize::from(
                    into.add(WebmTrack::Video, at, key, &frame)
                        .expect("in a test"),
                );
            }
            clusters += usize::from(
                into.add(WebmTrack::Audio, at, true, &[0xfc, 1])
                    .expect("in a test"),
            );
        }
        assert!(clusters >= 1, "no cluster was written while recording");
    }

    fn frames(file: &[u8]) -> (MatroskaFile<Cursor<&[u8]>>, Vec<Frame>) {
        let mut mkv = MatroskaFile::open(Cursor::new(file)).expect("the file opens");
        let mut frames = Vec::new();
        loop {
            let mut frame = Frame::default();
            match mkv.next_frame(&mut frame) {
                Ok(true) => frames.push(frame),
                // A cut file ends in the middle of an element.
                Ok(false) | Err(_) => break,
            }
        }
        (mkv, frames)
    }

    #[test]
    fn a_finished_recording_has_both_tracks_its_frames_and_its_duration() {
        let mut webm =
            WebmRecording::begin(Cursor::new(Vec::new()), TRACKS, "TalkLine").expect("in a test");
        record(&mut webm, 3000);
        let bytes = webm.finish().expect("in a test").file.into_inner();
        let (mkv, frames) = frames(&bytes);
        let tracks = mkv.tracks();
        assert_eq!(tracks.len(), 2);
        assert_eq!(tracks[0].codec_id(), "V_VP8");
        assert_eq!(tracks[0].track_type(), TrackType::Video);
        let video = tracks[0].video().expect("in a test");
        assert_eq!(
            (video.pixel_width().get(), video.pixel_height().get()),
            (320, 180)
        );
        assert_eq!(tracks[1].codec_id(), "A_OPUS");
        let head = tracks[1].codec_private().expect("in a test");
        assert_eq!(&head[..8], b"OpusHead");
        assert_eq!(u16::from_le_bytes([head[10], head[11]]), 312);
        assert_eq!(tracks[1].codec_delay(), Some(6_500_000));
        // Every frame, in time order, each where it was put.
        let video: Vec<&Frame> = frames.iter().filter(|f| f.track == VIDEO_TRACK).collect();
        let audio = frames.iter().filter(|f| f.track == AUDIO_TRACK).count();
        assert_eq!((video.len(), audio), (30, 150));
        for (i, f) in video.iter().enumerate() {
            assert_eq!(f.timestamp, i as u64 * 100);
            assert_eq!(f.data[1], i as u8);
            assert_eq!(f.is_keyframe, Some(i % 10 == 0));
        }
        assert!(frames.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        assert_eq!(mkv.info().duration(), Some(2980.0));
    }

    #[test]
    fn a_recording_cut_off_anywhere_plays_up_to_its_last_cluster() {
        let mut webm =
            WebmRecording::begin(Cursor::new(Vec::new()), TRACKS, "TalkLine").expect("in a test");
        record(&mut webm, 5000);
        // Never finished: the app was killed.
        let bytes = webm.file().get_ref().clone();
        let (mkv, _) = frames(&bytes);
        assert_eq!(mkv.info().duration(), None, "a cut file claims no length");
        for cut in [
            bytes.len(),
            bytes.len() - 1,
            bytes.len() * 2 / 3,
            bytes.len() / 2,
        ] {
            let (_, frames) = frames(&bytes[..cut]);
            let last = frames.iter().map(|f| f.timestamp).max().unwrap_or(0);
            // At most a cluster (two seconds) and the one being written lost.
            let lost_at_most = 5000 - cut as u64 * 5000 / bytes.len() as u64 + 2 * CLUSTER_MAX_MS;
            assert!(
                last + lost_at_most >= 4980,
                "cut at {cut} of {}: plays until {last} ms",
                bytes.len()
            );
            assert!(frames.iter().any(|f| f.track == VIDEO_TRACK));
        }
    }

    #[test]
    fn clusters_start_at_keyframes_and_stay_short_without_them() {
        let mut webm =
            WebmRecording::begin(Cursor::new(Vec::new()), TRACKS, "TalkLine").expect("in a test");
        // One keyframe, then only delta frames for six seconds.
        let mut written = Vec::new();
        for at in (0..6000).step_by(100) {
            if webm
                .add(WebmTrack::Video, at, at == 0, &[1, 2, 3])
                .expect("in a test")
            {
                written.push(at);
            }
        }
        // A cluster at most every two seconds, however long the keyframes wait.
        assert_eq!(written, vec![2000, 4000]);
        let mut webm =
            WebmRecording::begin(Cursor::new(Vec::new()), TRACKS, "TalkLine").expect("in a test");
        let mut written = Vec::new();
        for at in (0..6000).step_by(100) {
            let key = at % 1500 == 0;
            if webm
                .add(WebmTrack::Video, at, key, &[1, 2, 3])
                .expect("in a test")
            {
                written.push(at);
            }
        }
        // With keyframes every 1.5 s, every cluster begins with one.
        assert_eq!(written, vec![1500, 3000, 4500]);
    }

    #[test]
    fn time_never_goes_back_in_the_file() {
        let mut webm =
            WebmRecording::begin(Cursor::new(Vec::new()), TRACKS, "TalkLine").expect("in a test");
        webm.add(WebmTrack::Video, 0, true, &[1])
            .expect("in a test");
        webm.add(WebmTrack::Video, 2500, true, &[2])
            .expect("in a test");
        // Late audio from before the cluster written.
        webm.add(WebmTrack::Audio, 1000, true, &[3])
            .expect("in a test");
        webm.add(WebmTrack::Audio, 5000, true, &[4])
            .expect("in a test");
        let bytes = webm.finish().expect("in a test").file.into_inner();
        let (_, frames) = frames(&bytes);
        let stamps: Vec<u64> = frames.iter().map(|f| f.timestamp).collect();
        assert_eq!(stamps, vec![0, 2500, 2500, 5000]);
    }

    #[test]
    fn a_keyframe_that_closes_a_cluster_does_not_go_back_before_its_audio() {
        let mut webm =
            WebmRecording::begin(Cursor::new(Vec::new()), TRACKS, "TalkLine").expect("in a test");
        webm.add(WebmTrack::Video, 0, true, &[1])
            .expect("in a test");
        // The audio runs ahead of the video's arrival.
        webm.add(WebmTrack::Audio, 1900, true, &[2])
            .expect("in a test");
        assert!(
            webm.add(WebmTrack::Video, 1200, true, &[3])
                .expect("in a test")
        );
        let finished = webm.finish().expect("in a test");
        assert_eq!(finished.duration_ms, 1900);
        let bytes = finished.file.into_inner();
        assert_eq!(finished.bytes, bytes.len() as u64);
        let (_, frames) = frames(&bytes);
        let stamps: Vec<u64> = frames.iter().map(|f| f.timestamp).collect();
        assert_eq!(stamps, vec![0, 1900, 1900]);
    }

    #[test]
    fn a_write_that_fails_is_an_error_not_a_panic() {
        struct Full(Cursor<Vec<u8>>);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0.get_ref().len() + buf.len() > 2000 {
                    return Err(io::Error::from(io::ErrorKind::StorageFull));
                }
                self.0.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl Seek for Full {
            fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
                self.0.seek(to)
            }
        }
        let mut webm =
            WebmRecording::begin(Full(Cursor::new(Vec::new())), TRACKS, "T").expect("in a test");
        let failed = (0..200u64)
            .map(|i| webm.add(WebmTrack::Video, i * 100, i % 10 == 0, &[9; 100]))
            .find_map(Result::err)
            .expect("the full disk was noticed");
        assert_eq!(failed.kind(), io::ErrorKind::StorageFull);
    }
}
