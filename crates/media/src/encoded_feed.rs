//! Compressed video on its way to a window that decodes it itself (WebCodecs).
//!
//! Raw I420 is 345 kB per 640×360 frame; the same frame as VP8 is a few kB.
//! Handing the window the encoded frames cuts what crosses the webview's IPC
//! a hundredfold, and the core no longer decodes what only the window shows.
//!
//! Unlike a `FrameMailbox` (newest picture wins), a decoder needs every frame
//! since the last keyframe. The feed is a bounded lock-free queue the
//! receiving task pushes into; if the window falls behind by more than the
//! queue holds, the oldest frames are evicted, the window's next read sees
//! the gap and restarts at a keyframe, and the feed asks the sender for one.
//!
//! Wire form of a read, as the window parses it: records of a 24-byte
//! little-endian header (sequence u64, ready time µs u64, flags u32 with bit
//! 0 = keyframe, length u32) followed by the frame's bytes.
//!
//! The window reads every tile in one request (`read_tiles`), because each
//! request costs the webview's main thread more than the bytes it carries:
//! per tile with frames, an 8-byte header (the tile's index in the request
//! u32, the length of its records u32), then its records.

use std::borrow::Borrow;
use std::future::poll_fn;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use bytes::Bytes;
use crossbeam_queue::ArrayQueue;

pub const ENCODED_HEADER_BYTES: usize = 24;

/// About two seconds at 30 fps: a window that stalls longer restarts at a
/// keyframe rather than decoding a backlog it would show late anyway.
const QUEUE_FRAMES: usize = 64;

/// A feed counts as watched this long after the window's last read; then
/// the core goes back to decoding the stream itself. A window that turns to
/// raw pictures says so at once (`unwatch`): this is for one that went
/// away. Generous, because a loaded window can go seconds between reads
/// (measured: > 2 s in the four-party benchmark), and each handover back
/// and forth costs a keyframe.
const WATCH_GRACE: Duration = Duration::from_secs(10);

pub const FLAG_KEYFRAME: u32 = 1;

struct EncodedFrame {
    seq: u64,
    ready_us: u64,
    keyframe: bool,
    data: Bytes,
}

/// The encoded frames of one remote tile not yet read by the window.
pub struct EncodedFeed {
    queue: ArrayQueue<EncodedFrame>,
    next_seq: AtomicU64,
    /// Monotonic µs of the last read; 0: never read.
    watched_at_us: AtomicU64,
    keyframe_wanted: AtomicBool,
    waker: AtomicWaker,
}

impl Default for EncodedFeed {
    fn default() -> Self {
        Self {
            queue: ArrayQueue::new(QUEUE_FRAMES),
            next_seq: AtomicU64::new(1),
            watched_at_us: AtomicU64::new(0),
            keyframe_wanted: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }
}

fn monotonic_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    // +1 so that "read at the epoch" is not mistaken for "never read".
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64 + 1
}

impl EncodedFeed {
    /// Whether a window read this feed recently. Only then does the
    /// receiver queue frames here (and skip decoding them itself).
    pub fn is_watched(&self) -> bool {
        let at = self.watched_at_us.load(Ordering::Relaxed);
        at != 0 && monotonic_us().saturating_sub(at) < WATCH_GRACE.as_micros() as u64
    }

    /// Queues one complete frame. Never blocks or allocates: a full queue
    /// drops its oldest frame, which the reader notices as a gap.
    pub fn push(&self, data: Bytes, keyframe: bool, ready_us: u64) {
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        let _evicted = self.queue.force_push(EncodedFrame {
            seq,
            ready_us,
            keyframe,
            data,
        });
        self.waker.wake();
    }

    /// Records that a frame was lost before reaching the feed: the reader
    /// sees a gap in the sequence there, so it does not decode the frames
    /// after it against a reference it never had, and waits for a keyframe.
    pub fn mark_gap(&self) {
        self.next_seq.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether the reader needs a keyframe to go on; clears the request.
    /// The receiver turns it into a keyframe request to the sender.
    pub fn take_keyframe_request(&self) -> bool {
        self.keyframe_wanted.swap(false, Ordering::Relaxed)
    }

    /// Waits until a frame is queued. One reader per feed.
    pub async fn ready(&self) {
        poll_fn(|cx| self.poll_ready(cx)).await;
    }

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.queue.is_empty() {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.queue.is_empty() {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Marks the feed watched (from now on the receiver fills it).
    pub fn watch(&self) {
        self.watched_at_us.store(monotonic_us(), Ordering::Relaxed);
    }

    /// The window reads this tile as decoded pictures now: the receiver
    /// stops filling the feed, and the core decodes the stream again.
    pub fn unwatch(&self) {
        self.watched_at_us.store(0, Ordering::Relaxed);
    }

    /// Takes every queued frame the reader can decode after frame `after`
    /// (0: it has none yet) and appends them to `out` in wire form. After a
    /// gap, or for a new reader, only frames from a keyframe on are usable;
    /// without one, a keyframe is requested and nothing is returned.
    pub fn read_after(&self, after: u64, out: &mut Vec<u8>) {
        let was_watched = self.is_watched();
        self.watch();
        if !was_watched {
            // Whatever is queued predates this reader's interest (the
            // receiver stops filling an unwatched feed): stale, and with no
            // telling what it references. Start over at a fresh keyframe.
            while self.queue.pop().is_some() {}
            self.keyframe_wanted.store(true, Ordering::Relaxed);
            return;
        }
        let mut frames = Vec::with_capacity(self.queue.len());
        while let Some(frame) = self.queue.pop() {
            frames.push(frame);
        }
        let Some(first) = frames.first() else {
            return;
        };
        let start = if after != 0 && first.seq == after + 1 {
            0
        } else {
            match frames.iter().rposition(|f| f.keyframe) {
                Some(i) => i,
                None => {
                    self.keyframe_wanted.store(true, Ordering::Relaxed);
                    return;
                }
            }
        };
        for frame in &frames[start..] {
            out.extend_from_slice(&frame.seq.to_le_bytes());
            out.extend_from_slice(&frame.ready_us.to_le_bytes());
            let flags = if frame.keyframe { FLAG_KEYFRAME } else { 0 };
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&(frame.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame.data);
        }
    }
}

pub const TILE_HEADER_BYTES: usize = 8;

/// Reads several feeds into one reply: `feeds[i]` is a feed and the last
/// frame its reader has. Tiles with nothing new take no space.
pub fn read_tiles<F: Borrow<EncodedFeed>>(feeds: &[(F, u64)], out: &mut Vec<u8>) {
    for (index, (feed, after)) in feeds.iter().enumerate() {
        let start = out.len();
        out.extend_from_slice(&[0; TILE_HEADER_BYTES]);
        feed.borrow().read_after(*after, out);
        let len = out.len() - start - TILE_HEADER_BYTES;
        if len == 0 {
            out.truncate(start);
            continue;
        }
        out[start..start + 4].copy_from_slice(&(index as u32).to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&(len as u32).to_le_bytes());
    }
}

/// Waits until any of the feeds has a frame queued.
pub async fn any_ready<F: Borrow<EncodedFeed>>(feeds: &[F]) {
    poll_fn(|cx| {
        // Every feed registers this task, so whichever fills first wakes it.
        let mut ready = false;
        for feed in feeds {
            ready |= feed.borrow().poll_ready(cx).is_ready();
        }
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Splits a `read_tiles` reply into (tile index, records); `None` if it is
/// malformed.
pub fn parse_tiles(mut bytes: &[u8]) -> Option<Vec<(u32, Vec<EncodedRecord<'_>>)>> {
    let mut tiles = Vec::new();
    while !bytes.is_empty() {
        let header = bytes.get(..TILE_HEADER_BYTES)?;
        let index = u32::from_le_bytes(header[0..4].try_into().ok()?);
        let len = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
        let records = bytes.get(TILE_HEADER_BYTES..TILE_HEADER_BYTES + len)?;
        tiles.push((index, parse_records(records)?));
        bytes = &bytes[TILE_HEADER_BYTES + len..];
    }
    Some(tiles)
}

/// One record of a read, as the window sees it (for tests).
#[derive(Debug, PartialEq, Eq)]
pub struct EncodedRecord<'a> {
    pub seq: u64,
    pub ready_us: u64,
    pub keyframe: bool,
    pub data: &'a [u8],
}

/// Splits a read into its records; `None` if it is malformed.
pub fn parse_records(mut bytes: &[u8]) -> Option<Vec<EncodedRecord<'_>>> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let header = bytes.get(..ENCODED_HEADER_BYTES)?;
        let seq = u64::from_le_bytes(header[0..8].try_into().ok()?);
        let ready_us = u64::from_le_bytes(header[8..16].try_into().ok()?);
        let flags = u32::from_le_bytes(header[16..20].try_into().ok()?);
        let len = u32::from_le_bytes(header[20..24].try_into().ok()?) as usize;
        let data = bytes.get(ENCODED_HEADER_BYTES..ENCODED_HEADER_BYTES + len)?;
        records.push(EncodedRecord {
            seq,
            ready_us,
            keyframe: flags & FLAG_KEYFRAME != 0,
            data,
        });
        bytes = &bytes[ENCODED_HEADER_BYTES + len..];
    }
    Some(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(feed: &EncodedFeed, after: u64) -> Vec<(u64, bool, Vec<u8>)> {
        let mut out = Vec::new();
        feed.read_after(after, &mut out);
        parse_records(&out)
            .expect("well-formed")
            .into_iter()
            .map(|r| (r.seq, r.keyframe, r.data.to_vec()))
            .collect()
    }

    fn push(feed: &EncodedFeed, byte: u8, keyframe: bool) {
        feed.push(Bytes::from(vec![byte; 3]), keyframe, 1000 + byte as u64);
    }

    /// A feed the window has started reading.
    fn watched_feed() -> EncodedFeed {
        let feed = EncodedFeed::default();
        feed.read_after(0, &mut Vec::new());
        assert!(
            feed.take_keyframe_request(),
            "a first read asks for a keyframe"
        );
        feed
    }

    #[test]
    fn a_new_reader_starts_at_the_newest_keyframe() {
        let feed = watched_feed();
        push(&feed, 1, true);
        push(&feed, 2, false);
        push(&feed, 3, true);
        push(&feed, 4, false);
        let got = read(&feed, 0);
        assert_eq!(
            got,
            vec![(3, true, vec![3; 3]), (4, false, vec![4; 3])],
            "frames before the newest keyframe are of no use to a new decoder"
        );
        assert!(!feed.take_keyframe_request());
    }

    #[test]
    fn a_continuing_reader_gets_every_frame_in_order() {
        let feed = watched_feed();
        push(&feed, 1, true);
        assert_eq!(read(&feed, 0).len(), 1);
        push(&feed, 2, false);
        push(&feed, 3, false);
        let got = read(&feed, 1);
        assert_eq!(
            got.iter().map(|f| f.0).collect::<Vec<_>>(),
            vec![2, 3],
            "deltas follow without a keyframe"
        );
        assert!(read(&feed, 3).is_empty());
    }

    #[test]
    fn a_reader_that_fell_behind_waits_for_a_keyframe_and_asks_for_one() {
        let feed = watched_feed();
        push(&feed, 1, true);
        assert_eq!(read(&feed, 0).len(), 1);
        // More deltas than the queue holds: the oldest are evicted.
        for i in 0..(QUEUE_FRAMES as u8 + 5) {
            push(&feed, i, false);
        }
        assert!(read(&feed, 1).is_empty(), "a gap: nothing decodable");
        assert!(feed.take_keyframe_request(), "the sender is asked");
        assert!(!feed.take_keyframe_request(), "once");
        push(&feed, 9, true);
        push(&feed, 10, false);
        assert_eq!(read(&feed, 1).len(), 2, "back on track from the keyframe");
    }

    #[test]
    fn a_lost_frame_shows_as_a_gap_in_the_sequence() {
        let feed = watched_feed();
        push(&feed, 1, true);
        feed.mark_gap();
        push(&feed, 3, false);
        let seqs: Vec<u64> = read(&feed, 0).iter().map(|f| f.0).collect();
        assert_eq!(seqs, vec![1, 3], "the reader can tell frame 2 is missing");
    }

    #[test]
    fn frames_queued_before_the_reader_came_are_not_shown() {
        let feed = EncodedFeed::default();
        assert!(!feed.is_watched());
        push(&feed, 1, true);
        push(&feed, 2, false);
        assert!(read(&feed, 0).is_empty(), "stale frames are dropped");
        assert!(feed.is_watched());
        assert!(feed.take_keyframe_request());
        push(&feed, 3, true);
        assert_eq!(read(&feed, 0), vec![(3, true, vec![3; 3])]);
    }

    #[test]
    fn a_window_that_turns_to_pictures_hands_decoding_back_at_once() {
        let feed = watched_feed();
        assert!(feed.is_watched());
        feed.unwatch();
        assert!(!feed.is_watched());
    }

    #[test]
    fn one_read_serves_every_tile_and_names_each_by_its_index() {
        let (a, b, c) = (watched_feed(), watched_feed(), watched_feed());
        push(&a, 1, true);
        push(&c, 5, true);
        push(&c, 6, false);
        let mut out = Vec::new();
        read_tiles(&[(&a, 0), (&b, 0), (&c, 0)], &mut out);
        let tiles = parse_tiles(&out).expect("well-formed");
        let summary: Vec<(u32, Vec<u64>)> = tiles
            .iter()
            .map(|(i, records)| (*i, records.iter().map(|r| r.seq).collect()))
            .collect();
        assert_eq!(
            summary,
            vec![(0, vec![1]), (2, vec![1, 2])],
            "a tile with nothing new takes no space"
        );
        let mut empty = Vec::new();
        read_tiles(&[(&a, 1), (&b, 0), (&c, 2)], &mut empty);
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn a_frame_on_any_tile_ends_the_wait() {
        let feeds: Vec<std::sync::Arc<EncodedFeed>> = (0..3)
            .map(|_| std::sync::Arc::new(watched_feed()))
            .collect();
        let waiting = tokio::time::timeout(Duration::from_millis(50), any_ready(&feeds)).await;
        assert!(waiting.is_err(), "nothing queued: still waiting");
        let pusher = std::sync::Arc::clone(&feeds[2]);
        let push_later = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            push(&pusher, 1, true);
        });
        tokio::time::timeout(Duration::from_secs(5), any_ready(&feeds))
            .await
            .expect("woken by the third feed");
        push_later.await.expect("pushed");
    }

    #[test]
    fn malformed_reads_are_rejected() {
        assert_eq!(parse_tiles(&[]).map(|t| t.len()), Some(0));
        assert!(
            parse_tiles(&[0, 0, 0, 0, 9, 0, 0, 0, 1]).is_none(),
            "length past the end"
        );
        assert!(parse_tiles(&[0; 5]).is_none(), "short header");
        assert_eq!(parse_records(&[]), Some(vec![]));
        assert_eq!(parse_records(&[1, 2, 3]), None);
        let mut out = Vec::new();
        let feed = watched_feed();
        push(&feed, 7, true);
        feed.read_after(0, &mut out);
        out.pop();
        assert_eq!(parse_records(&out), None, "truncated frame");
    }
}
