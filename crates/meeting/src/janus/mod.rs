//! The Janus VideoRoom backend.

pub mod connection;
pub mod protocol;
pub(crate) mod tls;
