//! A single-producer single-consumer ring of audio samples for the boundary
//! between a device callback and a processing thread: wait-free, no locks,
//! no allocation after creation.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Shared {
    buffer: Box<[UnsafeCell<i16>]>,
    /// Total samples ever written (only the producer stores it).
    written: AtomicUsize,
    /// Total samples ever read (only the consumer stores it).
    read: AtomicUsize,
}

// SAFETY: the producer only writes slots between `written` and `read +
// capacity`, the consumer only reads slots between `read` and `written`; the
// Release/Acquire pairs on the counters order the slot accesses.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

pub struct RingProducer {
    shared: Arc<Shared>,
}

pub struct RingConsumer {
    shared: Arc<Shared>,
}

/// A ring holding up to `capacity` samples.
pub fn sample_ring(capacity: usize) -> (RingProducer, RingConsumer) {
    let capacity = capacity.max(1);
    let shared = Arc::new(Shared {
        buffer: (0..capacity).map(|_| UnsafeCell::new(0)).collect(),
        written: AtomicUsize::new(0),
        read: AtomicUsize::new(0),
    });
    (
        RingProducer {
            shared: Arc::clone(&shared),
        },
        RingConsumer { shared },
    )
}

impl RingProducer {
    /// Writes as many samples as fit; returns how many were written. Samples
    /// that do not fit are dropped by the caller (a late consumer loses the
    /// newest audio rather than blocking the device).
    pub fn push(&mut self, samples: &[i16]) -> usize {
        let s = &*self.shared;
        let cap = s.buffer.len();
        let written = s.written.load(Ordering::Relaxed);
        let read = s.read.load(Ordering::Acquire);
        let free = cap - (written - read);
        let n = samples.len().min(free);
        for (i, &sample) in samples[..n].iter().enumerate() {
            // SAFETY: slot is free (see `Shared`).
            unsafe { *s.buffer[(written + i) % cap].get() = sample };
        }
        s.written.store(written + n, Ordering::Release);
        n
    }
}

impl RingConsumer {
    /// True once the producer is gone and nothing more will arrive.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) == 1
    }

    pub fn available(&self) -> usize {
        let s = &*self.shared;
        s.written.load(Ordering::Acquire) - s.read.load(Ordering::Relaxed)
    }

    /// Reads up to `out.len()` samples; returns how many were read.
    pub fn pop(&mut self, out: &mut [i16]) -> usize {
        let s = &*self.shared;
        let cap = s.buffer.len();
        let read = s.read.load(Ordering::Relaxed);
        let n = out.len().min(s.written.load(Ordering::Acquire) - read);
        for (i, slot) in out[..n].iter_mut().enumerate() {
            // SAFETY: slot holds a written sample (see `Shared`).
            *slot = unsafe { *s.buffer[(read + i) % cap].get() };
        }
        s.read.store(read + n, Ordering::Release);
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_refuses_overflow() {
        let (mut p, mut c) = sample_ring(5);
        assert_eq!(p.push(&[1, 2, 3]), 3);
        let mut out = [0; 2];
        assert_eq!(c.pop(&mut out), 2);
        assert_eq!(out, [1, 2]);
        assert_eq!(p.push(&[4, 5, 6, 7, 8]), 4);
        assert_eq!(c.available(), 5);
        let mut out = [0; 8];
        assert_eq!(c.pop(&mut out), 5);
        assert_eq!(&out[..5], &[3, 4, 5, 6, 7]);
        assert_eq!(c.pop(&mut out), 0);
    }

    #[test]
    fn threads_see_every_sample_in_order() {
        let (mut p, mut c) = sample_ring(64);
        let total = 200_000usize;
        let producer = std::thread::spawn(move || {
            let mut next = 0usize;
            while next < total {
                let chunk: Vec<i16> = (next..(next + 7).min(total))
                    .map(|v| (v % 30_000) as i16)
                    .collect();
                next += p.push(&chunk);
            }
        });
        let mut expected = 0usize;
        let mut buf = [0i16; 13];
        while expected < total {
            let n = c.pop(&mut buf);
            for &v in &buf[..n] {
                assert_eq!(v, (expected % 30_000) as i16);
                expected += 1;
            }
        }
        producer.join().expect("producer");
    }
}
