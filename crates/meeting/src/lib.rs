//! TalkLine meetings: links, signaling, peer connections and the session
//! state machine.

pub mod link;

pub use link::{LinkError, MeetingLink, ServerUrl};
