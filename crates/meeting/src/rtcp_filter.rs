//! The one kind of interceptor we add to webrtc-rs's chain: one that looks
//! at inbound packets only, and may change, drop or split them. Outbound packets
//! pass untouched.

use std::collections::VecDeque;

use rtc::interceptor::{Interceptor, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;

/// What a filter does with each inbound packet.
pub trait Inbound {
    /// Passes `msg` on (perhaps changed) by pushing it to `out`, drops it by
    /// not, or passes on several packets made from it.
    fn read(&mut self, msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>);
}

/// A filter that keeps a packet (perhaps changed) when `F` returns true.
pub struct KeepIf<F>(F);

impl<F: FnMut(&mut TaggedPacket) -> bool> Inbound for KeepIf<F> {
    fn read(&mut self, mut msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        if (self.0)(&mut msg) {
            out.push_back(msg);
        }
    }
}

/// A filter that may turn one packet into several.
pub struct Split<F>(pub F);

impl<F: FnMut(TaggedPacket, &mut VecDeque<TaggedPacket>)> Inbound for Split<F> {
    fn read(&mut self, msg: TaggedPacket, out: &mut VecDeque<TaggedPacket>) {
        (self.0)(msg, out)
    }
}

pub struct InboundFilter<I> {
    filter: I,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl<F: FnMut(&mut TaggedPacket) -> bool> InboundFilter<KeepIf<F>> {
    /// `filter` sees every inbound packet; returning false drops it.
    pub fn new(filter: F) -> Self {
        Self::with(KeepIf(filter))
    }
}

impl<I: Inbound> InboundFilter<I> {
    pub fn with(filter: I) -> Self {
        Self {
            filter,
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }
}

impl<I: Inbound> Protocol<TaggedPacket, TaggedPacket, ()> for InboundFilter<I> {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = std::time::Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.filter.read(msg, &mut self.read);
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

impl<I: Inbound + Send + Sync + 'static> Interceptor for InboundFilter<I> {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}
