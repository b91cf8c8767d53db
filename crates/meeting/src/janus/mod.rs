//! The Janus VideoRoom backend.

pub mod connection;
pub mod protocol;
mod tls;
