//! Text from outside: the signaling server's messages and SDP, meeting
//! links, and the values the app reads back from its store.
//!
//! Where a parser promises a round trip (what it writes reads back as
//! itself), the target checks it: a fuzzer finds a broken promise as
//! readily as a panic.

use talkline_media::devices::DeviceKey;
use talkline_meeting::janus::protocol::{Incoming, RoomEvent};
use talkline_meeting::session::{SessionInput, SessionMachine};
use talkline_meeting::simulcast::StreamIds;
use talkline_meeting::{MeetingLink, ServerUrl, ice_servers, qr, sdp as sdp_text};

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// A run of messages from the Janus server, one a line, as the signaling
/// connection parses them, with what they say fed to the call's state
/// machine as the call would, and their SDP read.
pub fn janus_signaling(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut session = SessionMachine::new();
    for line in text.split('\n') {
        let Ok(message) = Incoming::parse(line) else {
            continue;
        };
        let _ = message.transaction();
        let Incoming::Event { room, jsep, .. } = message else {
            continue;
        };
        if let Some(jsep) = jsep {
            read_sdp(&jsep.sdp);
        }
        let input = match room {
            RoomEvent::Joined { id, publishers, .. } => SessionInput::Joined {
                self_id: id,
                publishers,
            },
            RoomEvent::Publishers(list) => SessionInput::Publishers(list),
            RoomEvent::Leaving(id) | RoomEvent::Unpublished(id) => SessionInput::Gone(id),
            RoomEvent::Error { .. } => SessionInput::SubscribeRefused(vec![1, 2]),
            _ => continue,
        };
        let _ = session.handle(input);
        let _ = session.participants().count();
    }
}

/// An SDP offer or answer from the server: read by our own helpers, and by
/// webrtc-rs's parser, which the peer connection gives it to.
pub fn sdp(data: &[u8]) {
    read_sdp(&String::from_utf8_lossy(data));
    let _ = rtc::sdp::description::session::SessionDescription::unmarshal(
        &mut std::io::Cursor::new(data),
    );
}

fn read_sdp(text: &str) {
    for section in sdp_text::media_sections(text) {
        for &ssrc in &section.ssrcs {
            let _ = sdp_text::mid_of_ssrc(text, ssrc);
            let _ = sdp_text::extension_id(text, ssrc, AUDIO_LEVEL_URI);
        }
        if let Some(mid) = &section.mid {
            let _ = StreamIds::negotiated(text, mid);
        }
    }
    let _ = sdp_text::first_mid(text, "video");
}

/// What `parse` accepts must print as text that `parse` reads back as the
/// same value: links, device keys and server addresses are stored printed.
fn reads_back<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>)
where
    T: std::fmt::Display + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = parse(text) {
        let printed = value.to_string();
        let again = parse(&printed).ok();
        assert_eq!(
            again.as_ref(),
            Some(&value),
            "{printed:?} does not read back as itself"
        );
    }
}

/// A meeting link typed, pasted, opened from outside or read from a QR
/// code.
pub fn meeting_link(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    reads_back(&text, MeetingLink::parse);
    reads_back(&text, ServerUrl::parse);
    let _ = qr::link_from_payload(&text);
}

/// Settings read back from the store, one a line: a device choice, a STUN
/// or TURN server, a TURN credential.
pub fn stored_settings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        reads_back(line, |t| DeviceKey::parse(t).ok_or(()));
        reads_back(line, ice_servers::IceUrl::parse);
        let _ = ice_servers::parse_credential(line);
    }
}
