//! Frames on their way to a screen. A `FrameMailbox` holds only the newest
//! picture of one tile: the producer (a decoder or capture thread) never
//! waits for the viewer, and a viewer that asks for "anything newer than
//! what I drew" gets at most one frame of delay and never a backlog.
//!
//! The stored form is the wire form the UI reads, so a viewer's copy is one
//! `memcpy`: a 24-byte little-endian header (sequence u64, width u32,
//! height u32, capture time µs u64) followed by the I420 planes.

use std::collections::HashMap;
use std::future::poll_fn;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::task::Poll;

use atomic_waker::AtomicWaker;

use crate::encoded_feed::EncodedFeed;
use crate::frame::VideoFrame;

pub const FRAME_HEADER_BYTES: usize = 24;

/// The newest frame of one tile.
#[derive(Default)]
pub struct FrameMailbox {
    /// Sequence number of the frame in `bytes` (0: none yet).
    seq: AtomicU64,
    bytes: Mutex<Vec<u8>>,
    waker: AtomicWaker,
    /// Frames not shown because a viewer was copying at that moment.
    pub skipped: AtomicU64,
}

impl FrameMailbox {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Replaces the stored frame. Called from media threads, so it never
    /// blocks: if a viewer holds the buffer this frame is skipped (the next
    /// one comes a frame period later). It allocates only when the picture
    /// size changes.
    pub fn publish(&self, frame: &VideoFrame) {
        let mut bytes = match self.bytes.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => {
                self.skipped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        let seq = self.seq.load(Ordering::Relaxed) + 1;
        let planes = frame.as_bytes();
        bytes.resize(FRAME_HEADER_BYTES + planes.len(), 0);
        let (header, body) = bytes.split_at_mut(FRAME_HEADER_BYTES);
        header[0..8].copy_from_slice(&seq.to_le_bytes());
        header[8..12].copy_from_slice(&frame.width().to_le_bytes());
        header[12..16].copy_from_slice(&frame.height().to_le_bytes());
        header[16..24].copy_from_slice(&frame.capture_time_us.to_le_bytes());
        body.copy_from_slice(planes);
        drop(bytes);
        self.seq.store(seq, Ordering::Release);
        self.waker.wake();
    }

    /// A copy of the stored frame if it is newer than `after`.
    pub fn newer_than(&self, after: u64) -> Option<Vec<u8>> {
        if self.seq() <= after {
            return None;
        }
        let bytes = match self.bytes.lock() {
            Ok(guard) => guard,
            Err(p) => p.into_inner(),
        };
        (bytes.len() >= FRAME_HEADER_BYTES).then(|| bytes.clone())
    }

    /// Copies the stored frame into `out` (reused: no allocation once it
    /// has the size) if it is newer than `after`; true if it did. For a
    /// viewer that works on the picture afterwards: the lock is held only
    /// for the copy, so the publisher is not made to skip frames meanwhile.
    pub fn copy_newer(&self, after: u64, out: &mut Vec<u8>) -> bool {
        if self.seq() <= after {
            return false;
        }
        let bytes = match self.bytes.lock() {
            Ok(guard) => guard,
            Err(p) => p.into_inner(),
        };
        if bytes.len() < FRAME_HEADER_BYTES {
            return false;
        }
        out.clear();
        out.extend_from_slice(&bytes);
        true
    }

    /// Waits until a frame newer than `after` is stored. One viewer per
    /// mailbox is woken; callers bound the wait with a timeout, so a second
    /// viewer only ever waits that long.
    pub async fn changed(&self, after: u64) {
        poll_fn(|cx| {
            if self.seq() > after {
                return Poll::Ready(());
            }
            self.waker.register(cx.waker());
            if self.seq() > after {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }
}

/// Reads the header of a stored frame: (sequence, width, height).
pub fn parse_header(bytes: &[u8]) -> Option<(u64, u32, u32)> {
    let header = bytes.get(..FRAME_HEADER_BYTES)?;
    let seq = u64::from_le_bytes(header[0..8].try_into().ok()?);
    let width = u32::from_le_bytes(header[8..12].try_into().ok()?);
    let height = u32::from_le_bytes(header[12..16].try_into().ok()?);
    Some((seq, width, height))
}

/// The mailboxes of every tile on screen, by tile id ("self", or a
/// participant id), and the encoded feeds of the remote ones for a window
/// that decodes video itself. Looked up when a stream starts, not per frame.
#[derive(Default)]
pub struct Tiles {
    map: Mutex<HashMap<String, Arc<FrameMailbox>>>,
    encoded: Mutex<HashMap<String, Arc<EncodedFeed>>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(p) => p.into_inner(),
    }
}

impl Tiles {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn get_or_create(&self, id: &str) -> Arc<FrameMailbox> {
        Arc::clone(locked(&self.map).entry(id.to_string()).or_default())
    }

    pub fn encoded_feed(&self, id: &str) -> Arc<EncodedFeed> {
        let mut feeds = locked(&self.encoded);
        // Looked up first: the window asks for every tile many times a
        // second, and an entry is made only once.
        if let Some(feed) = feeds.get(id) {
            return Arc::clone(feed);
        }
        Arc::clone(feeds.entry(id.to_string()).or_default())
    }

    /// Hands a tile's stream back to the core's decoder, if a window was
    /// reading it encoded (a raw-only tile never gets a feed).
    pub fn unwatch_encoded(&self, id: &str) {
        if let Some(feed) = locked(&self.encoded).get(id) {
            feed.unwatch();
        }
    }

    pub fn remove(&self, id: &str) {
        locked(&self.map).remove(id);
        locked(&self.encoded).remove(id);
    }

    pub fn clear(&self) {
        locked(&self.map).clear();
        locked(&self.encoded).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, luma: u8) -> VideoFrame {
        let mut f = VideoFrame::new(w, h).expect("frame");
        f.planes_mut().0.fill(luma);
        f.capture_time_us = 77;
        f
    }

    #[test]
    fn keeps_only_the_newest_frame_in_wire_form() {
        let mailbox = FrameMailbox::new();
        assert!(mailbox.newer_than(0).is_none());
        mailbox.publish(&frame(4, 2, 10));
        mailbox.publish(&frame(6, 4, 20));
        let bytes = mailbox.newer_than(0).expect("a frame");
        assert_eq!(parse_header(&bytes), Some((2, 6, 4)));
        assert_eq!(
            u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes")),
            77
        );
        assert_eq!(bytes.len(), FRAME_HEADER_BYTES + 24 + 6 + 6);
        assert!(
            bytes[FRAME_HEADER_BYTES..FRAME_HEADER_BYTES + 24]
                .iter()
                .all(|&b| b == 20)
        );
        assert!(mailbox.newer_than(2).is_none());
    }

    #[test]
    fn a_viewer_copies_only_a_newer_frame_into_its_own_buffer() {
        let mailbox = FrameMailbox::new();
        let mut out = vec![9u8; 3];
        assert!(!mailbox.copy_newer(0, &mut out), "nothing stored yet");
        assert_eq!(out, [9, 9, 9]);
        mailbox.publish(&frame(4, 2, 10));
        assert!(mailbox.copy_newer(0, &mut out));
        assert_eq!(Some(out.clone()), mailbox.newer_than(0));
        assert!(!mailbox.copy_newer(1, &mut out), "not newer than frame 1");
    }

    #[test]
    fn a_busy_viewer_makes_the_producer_skip_not_wait() {
        let mailbox = FrameMailbox::new();
        mailbox.publish(&frame(4, 2, 1));
        let guard = mailbox.bytes.lock().expect("lock");
        mailbox.publish(&frame(4, 2, 2));
        drop(guard);
        assert_eq!(mailbox.skipped.load(Ordering::Relaxed), 1);
        assert_eq!(mailbox.seq(), 1);
    }

    #[test]
    fn a_waiting_viewer_wakes_on_publish() {
        let mailbox = FrameMailbox::new();
        let producer = Arc::clone(&mailbox);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            producer.publish(&frame(2, 2, 5));
        });
        futures_lite_block_on(mailbox.changed(0));
        assert_eq!(mailbox.seq(), 1);
        thread.join().expect("producer");
    }

    /// A minimal executor: parks the thread until woken.
    fn futures_lite_block_on<F: std::future::Future>(fut: F) -> F::Output {
        use std::task::{Context, Wake, Waker};
        struct Unpark(std::thread::Thread);
        impl Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }
}
