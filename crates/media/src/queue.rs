//! Bounded frame queues between threads: when the consumer falls behind the
//! oldest frame is dropped, so latency stays bounded and memory never grows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_queue::ArrayQueue;

pub struct DropOldestQueue<T> {
    queue: ArrayQueue<T>,
    dropped: AtomicU64,
}

impl<T> DropOldestQueue<T> {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            queue: ArrayQueue::new(capacity.max(1)),
            dropped: AtomicU64::new(0),
        })
    }

    /// Pushes, returning the displaced oldest item (e.g. to recycle its buffer).
    pub fn push(&self, item: T) -> Option<T> {
        let displaced = self.queue.force_push(item);
        if displaced.is_some() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        displaced
    }

    pub fn pop(&self) -> Option<T> {
        self.queue.pop()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Frames dropped so far because the consumer was late.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_oldest_when_full() {
        let q = DropOldestQueue::new(2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(1));
        assert_eq!(q.dropped(), 1);
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), None);
    }
}
