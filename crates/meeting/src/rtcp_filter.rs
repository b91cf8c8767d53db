//! The one kind of interceptor we add to webrtc-rs's chain: one that looks
//! at inbound packets only, and may change or drop them. Outbound packets
//! pass untouched.

use std::collections::VecDeque;

use rtc::interceptor::{Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

/// `filter` sees every inbound packet; returning false drops it.
pub struct InboundFilter<F> {
    filter: F,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl<F: FnMut(&mut TaggedPacket) -> bool> InboundFilter<F> {
    pub fn new(filter: F) -> Self {
        Self {
            filter,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

impl<F: FnMut(&mut TaggedPacket) -> bool> Protocol<TaggedPacket, TaggedPacket, ()>
    for InboundFilter<F>
{
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = std::time::Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> Result<(), Self::Error> {
        if (self.filter)(&mut msg) {
            self.read.push_back(msg);
        }
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl<F: FnMut(&mut TaggedPacket) -> bool + Send + Sync + 'static> Interceptor for InboundFilter<F> {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
