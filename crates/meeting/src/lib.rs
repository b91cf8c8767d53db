//! TalkLine meetings: links, signaling, peer connections and the session
//! state machine.

pub mod board;
pub mod call;
pub mod chat;
pub mod congestion;
mod dtls_flights;
pub mod early_echo;
pub mod error;
pub mod host;
pub mod ice_servers;
pub mod invite;
pub mod janus;
pub mod jitter;
mod keyframes;
pub mod layers;
pub mod link;
pub mod lobby;
pub mod peer;
pub mod playout;
pub mod qr;
pub mod receive;
pub mod recording;
mod rtcp_filter;
pub mod screen_share;
pub mod sdp;
pub mod send;
pub mod session;
pub mod simulcast;
mod stall;
pub mod stats;
mod turn_stream;
pub mod vp8_packetizer;

pub use call::{CallCommand, CallConfig, CallEvent, CallHandle, PublishAs, join};
pub use error::MeetingError;
pub use invite::MeetingQrCode;
pub use janus::connection::{MAX_SIGNALING_MESSAGE_BYTES, MAX_WAITING_SIGNALING_EVENTS};
pub use link::{LinkError, MeetingLink, ServerUrl};
pub use qr::{ScanError, ScannedLink};
pub use send::Outgoing;
pub use session::{CallState, Participant};
