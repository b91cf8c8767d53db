//! STUN and TURN servers, from the user's settings or the meeting link.
//!
//! ```text
//! ice-url   = ("stun" | "turn" | "turns") ":" host [":" port] ["?transport=" ("udp" | "tcp")]
//! ```
//! (RFC 7064 and 7065.) A TURN server needs a user name and a credential;
//! they come beside the URLs, not inside them.
//!
//! webrtc-rs 0.21 talks to TURN servers over UDP only; `turn_stream`
//! carries `turns:` and `?transport=tcp` servers' messages for it.

use std::fmt;

use crate::link::LinkError;

/// At most this many servers in a link or the settings.
pub const MAX_ICE_SERVERS: usize = 4;
const MAX_CREDENTIAL_LEN: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceScheme {
    Stun,
    Turn,
    /// TURN over TLS.
    Turns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TurnTransport {
    Udp,
    Tcp,
}

/// One STUN or TURN server's address, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceUrl {
    scheme: IceScheme,
    host: String,
    port: u16,
    transport: TurnTransport,
}

impl IceUrl {
    pub fn parse(text: &str) -> Result<Self, LinkError> {
        let bad = LinkError::BadIceServer;
        let (scheme_text, rest) = text
            .split_once(':')
            .ok_or(bad("it must start with stun:, turn: or turns:"))?;
        let scheme = match scheme_text.to_ascii_lowercase().as_str() {
            "stun" => IceScheme::Stun,
            "turn" => IceScheme::Turn,
            "turns" => IceScheme::Turns,
            _ => return Err(bad("it must start with stun:, turn: or turns:")),
        };
        if rest.starts_with("//") {
            return Err(bad("write stun:host or turn:host, without //"));
        }
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let (host, port) = crate::link::parse_authority(authority).map_err(bad)?;
        let transport = match (scheme, query) {
            (_, None) => match scheme {
                IceScheme::Turns => TurnTransport::Tcp,
                _ => TurnTransport::Udp,
            },
            (IceScheme::Stun, Some(_)) => return Err(bad("a STUN address takes no ?transport")),
            // TLS runs over TCP; TURN over DTLS is not supported.
            (IceScheme::Turns, Some(q)) if q.eq_ignore_ascii_case("transport=udp") => {
                return Err(bad(
                    "turns: is TLS over TCP: write turn:host?transport=udp for UDP",
                ));
            }
            (_, Some(q)) => match q.to_ascii_lowercase().as_str() {
                "transport=udp" => TurnTransport::Udp,
                "transport=tcp" => TurnTransport::Tcp,
                _ => return Err(bad("the only option is ?transport=udp or ?transport=tcp")),
            },
        };
        let default_port = if scheme == IceScheme::Turns {
            5349
        } else {
            3478
        };
        Ok(Self {
            scheme,
            host,
            port: port.unwrap_or(default_port),
            transport,
        })
    }

    pub fn scheme(&self) -> IceScheme {
        self.scheme
    }

    pub fn is_turn(&self) -> bool {
        self.scheme != IceScheme::Stun
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// How the client reaches the server (`turns:` is always TCP).
    pub fn transport(&self) -> TurnTransport {
        self.transport
    }
}

impl fmt::Display for IceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            IceScheme::Stun => "stun",
            IceScheme::Turn => "turn",
            IceScheme::Turns => "turns",
        };
        write!(f, "{scheme}:{}:{}", self.host, self.port)?;
        match (self.scheme, self.transport) {
            (IceScheme::Turn, TurnTransport::Tcp) => f.write_str("?transport=tcp"),
            _ => Ok(()),
        }
    }
}

/// The servers a call gathers candidates from, and whether it may use
/// only relayed ones (which hides the user's addresses from the server
/// and the other side, and is how tests prove the relay works).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServers {
    pub urls: Vec<IceUrl>,
    pub username: Option<String>,
    pub credential: Option<String>,
    pub relay_only: bool,
}

/// A TURN user name or credential, as a link or setting gives it.
pub fn parse_credential(text: &str) -> Result<String, LinkError> {
    if text.is_empty() || text.len() > MAX_CREDENTIAL_LEN || text.chars().any(char::is_control) {
        return Err(LinkError::BadIceServer(
            "the TURN user name and credential must be 1 to 256 printable characters",
        ));
    }
    Ok(text.to_string())
}

impl IceServers {
    /// Checks what only the whole set can show.
    pub fn validate(&self) -> Result<(), LinkError> {
        let bad = LinkError::BadIceServer;
        if self.urls.len() > MAX_ICE_SERVERS {
            return Err(bad("at most 4 STUN or TURN servers"));
        }
        let turn = self.urls.iter().any(IceUrl::is_turn);
        if turn && (self.username.is_none() || self.credential.is_none()) {
            return Err(bad("a TURN server needs a user name and a credential"));
        }
        if self.relay_only && !turn {
            return Err(bad("relay-only calls need a TURN server (turn:host:port)"));
        }
        Ok(())
    }

    /// These servers, with `other`'s added where these have none: a link's
    /// servers come first, the user's settings fill in.
    pub fn or(self, other: &IceServers) -> IceServers {
        if self.urls.is_empty() {
            IceServers {
                relay_only: self.relay_only || other.relay_only,
                ..other.clone()
            }
        } else {
            IceServers {
                relay_only: self.relay_only || other.relay_only,
                ..self
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_each_kind_parse_and_print_canonically() {
        let cases = [
            ("stun:stun.example.org", "stun:stun.example.org:3478", true),
            ("STUN:10.0.0.1:19302", "stun:10.0.0.1:19302", true),
            ("turn:turn.example.org", "turn:turn.example.org:3478", true),
            (
                "turn:turn.example.org:80?transport=udp",
                "turn:turn.example.org:80",
                true,
            ),
            (
                "turn:turn.example.org?transport=tcp",
                "turn:turn.example.org:3478?transport=tcp",
                false,
            ),
            (
                "turns:turn.example.org",
                "turns:turn.example.org:5349",
                false,
            ),
            ("turn:[::1]:3478", "turn:[::1]:3478", true),
        ];
        for (text, canonical, over_udp) in cases {
            let url = IceUrl::parse(text).expect(text);
            assert_eq!(url.to_string(), canonical);
            assert_eq!(url.transport() == TurnTransport::Udp, over_udp, "{text}");
            assert_eq!(IceUrl::parse(canonical), Ok(url));
        }
    }

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        for text in [
            "",
            "stun",
            "http://stun.example.org",
            "stun://stun.example.org",
            "turn:",
            "turn:user:pass@host",
            "turn:host:0",
            "turn:host:99999",
            "turn:host?transport=sctp",
            "stun:host?transport=udp",
            "turn:ho st",
            "turn:host:3478/path",
            // Found by the fuzzer (fuzz/corpus/stored_settings/crash-turns-over-udp):
            // taken as TLS over UDP, printed as plain turns: (TCP).
            "turns:host?transport=udp",
            "turns:host:443?TRANSPORT=UDP",
        ] {
            let err = IceUrl::parse(text).expect_err(text);
            assert!(matches!(err, LinkError::BadIceServer(_)), "{text}: {err:?}");
        }
    }

    fn turn(url: &str) -> IceServers {
        IceServers {
            urls: vec![IceUrl::parse(url).expect("valid")],
            username: Some("u".into()),
            credential: Some("p".into()),
            relay_only: false,
        }
    }

    #[test]
    fn a_set_needs_credentials_for_turn_and_a_relay_to_be_relay_only() {
        assert_eq!(turn("turn:h").validate(), Ok(()));
        let no_credential = IceServers {
            credential: None,
            ..turn("turn:h")
        };
        assert!(no_credential.validate().is_err());
        let stun = IceServers {
            urls: vec![IceUrl::parse("stun:h").expect("valid")],
            ..IceServers::default()
        };
        assert_eq!(stun.validate(), Ok(()));
        let relay_tls = IceServers {
            relay_only: true,
            ..turn("turns:h")
        };
        assert_eq!(relay_tls.validate(), Ok(()));
        let relay_without_turn = IceServers {
            relay_only: true,
            ..stun.clone()
        };
        assert!(relay_without_turn.validate().is_err());
        let too_many = IceServers {
            urls: vec![IceUrl::parse("stun:h").expect("valid"); MAX_ICE_SERVERS + 1],
            ..IceServers::default()
        };
        assert!(too_many.validate().is_err());
        assert!(parse_credential("").is_err());
        assert!(parse_credential("a\nb").is_err());
    }

    #[test]
    fn a_links_servers_come_before_the_settings() {
        let link = turn("turn:link");
        let settings = IceServers {
            relay_only: true,
            ..turn("turn:settings")
        };
        let both = link.clone().or(&settings);
        assert_eq!(both.urls, link.urls);
        assert!(both.relay_only);
        let none = IceServers::default().or(&settings);
        assert_eq!(none.urls, settings.urls);
    }
}
