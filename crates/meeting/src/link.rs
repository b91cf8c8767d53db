//! Meeting links: one grammar, one parser.
//!
//! ```text
//! link      = ("talkline://join?" | web-join) param *("&" param)  ; server and room required, pin optional
//! web-join  = "https://" host [":" port] "/join" ["/"] "?"  ; the same link as a web invitation
//! param     = ("server" | "room" | "pin" | "ice" | "ice_username" | "ice_credential") "=" value
//!                                                        ; values may be percent-encoded; up to 4 "ice"
//! ice       = ice-url (see `ice_servers`): a STUN or TURN server for this meeting
//! server    = ("ws" | "wss") "://" host [":" port] [path]
//! room      = 1*16DIGIT
//! bare-id   = 1*16 (DIGIT | " " | "-")                    ; at least one digit; uses the default server
//! ```
//! Anything else is rejected with an error that says what is wrong.

use std::fmt;

use crate::ice_servers::{IceServers, IceUrl, parse_credential};

const MAX_LINK_LEN: usize = 2048;
const MAX_PIN_LEN: usize = 64;
const MAX_ROOM_DIGITS: usize = 16;

/// Why a link was rejected. Messages are written for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    #[error("the link is empty")]
    Empty,
    #[error("the link is too long (more than {MAX_LINK_LEN} characters)")]
    TooLong,
    #[error(
        "not a TalkLine link or meeting ID: expected talkline://join?server=…&room=…, https://…/join?server=…&room=… or a numeric meeting ID"
    )]
    NotALink,
    #[error("the link has no {0}")]
    Missing(&'static str),
    #[error("the link gives {0} twice")]
    Duplicate(&'static str),
    #[error("the link has an unknown part {0:?}")]
    UnknownParameter(String),
    #[error("the link has a broken %-escape")]
    BadEscape,
    #[error("the meeting ID must be 1 to {MAX_ROOM_DIGITS} digits")]
    BadRoom,
    #[error("the meeting PIN must be 1 to {MAX_PIN_LEN} printable characters")]
    BadPin,
    #[error("the server address is not valid: {0}")]
    BadServer(&'static str),
    #[error("the web address of the link is not valid: {0}")]
    BadWebAddress(&'static str),
    #[error("the STUN or TURN server is not valid: {0}")]
    BadIceServer(&'static str),
}

impl talkline_language::Translated for LinkError {
    fn chinese(&self) -> String {
        match self {
            Self::Empty => "链接为空".into(),
            Self::TooLong => format!("链接太长（超过 {MAX_LINK_LEN} 个字符）"),
            Self::NotALink => "这不是 TalkLine 会议链接或会议号：应为 talkline://join?server=…&room=…、https://…/join?server=…&room=… 或数字会议号".into(),
            Self::Missing(part) => format!("链接缺少{}", part_zh(part)),
            Self::Duplicate(part) => format!("链接中{}出现了两次", part_zh(part)),
            Self::UnknownParameter(part) => format!("链接含有无法识别的部分 {part:?}"),
            Self::BadEscape => "链接中有损坏的 % 转义".into(),
            Self::BadRoom => format!("会议号必须是 1 到 {MAX_ROOM_DIGITS} 位数字"),
            Self::BadPin => format!("会议密码必须是 1 到 {MAX_PIN_LEN} 个可打印字符"),
            Self::BadServer(why) => format!("服务器地址无效：{}", reason_zh(why)),
            Self::BadWebAddress(why) => format!("链接的网址无效：{}", reason_zh(why)),
            Self::BadIceServer(why) => format!("STUN 或 TURN 服务器无效：{}", reason_zh(why)),
        }
    }
}

/// A part of a link, as the Chinese messages name it.
fn part_zh(part: &str) -> String {
    match part {
        "server" => "服务器（server）".into(),
        "room" => "会议号（room）".into(),
        "pin" => "会议密码（pin）".into(),
        "ice_username" => "TURN 用户名（ice_username）".into(),
        "ice_credential" => "TURN 凭据（ice_credential）".into(),
        other => other.into(),
    }
}

/// Why an address was refused, in Chinese: every reason this crate gives
/// (a test reads them from the source, so a new one cannot be missed).
pub(crate) fn reason_zh(reason: &str) -> &str {
    match reason {
        "it must not carry a user name or password" => "不能包含用户名或密码",
        "the IPv6 address is not valid" => "IPv6 地址无效",
        "the host name is not valid" => "主机名无效",
        "the port is not a number" => "端口不是数字",
        "the port must be 1 to 65535" => "端口必须在 1 到 65535 之间",
        "unclosed [ in the host" => "主机名中的 [ 没有闭合",
        "it must start with ws:// or wss://" => "必须以 ws:// 或 wss:// 开头",
        "the path may only hold letters, digits and / - _ . ~" => {
            "路径只能包含字母、数字和 / - _ . ~"
        }
        "it must start with stun:, turn: or turns:" => "必须以 stun:、turn: 或 turns: 开头",
        "write stun:host or turn:host, without //" => "请写成 stun:主机 或 turn:主机，不要加 //",
        "a STUN address takes no ?transport" => "STUN 地址不能带 ?transport",
        "turns: is TLS over TCP: write turn:host?transport=udp for UDP" => {
            "turns: 是基于 TCP 的 TLS：要用 UDP，请写 turn:主机?transport=udp"
        }
        "the TURN user name and credential must be 1 to 256 printable characters" => {
            "TURN 用户名和凭据必须是 1 到 256 个可打印字符"
        }
        "the only option is ?transport=udp or ?transport=tcp" => {
            "只能写 ?transport=udp 或 ?transport=tcp"
        }
        "at most 4 STUN or TURN servers" => "STUN 或 TURN 服务器最多 4 个",
        "a TURN server needs a user name and a credential" => "TURN 服务器需要用户名和凭据",
        "relay-only calls need a TURN server (turn:host:port)" => {
            "仅经中继的通话需要 TURN 服务器（turn:主机:端口）"
        }
        other => other,
    }
}

/// `host [":" port]` of a server or web address, the host lowercased.
/// The error says what is wrong, for the caller's variant to carry.
pub(crate) fn parse_authority(authority: &str) -> Result<(String, Option<u16>), &'static str> {
    if authority.contains('@') {
        return Err("it must not carry a user name or password");
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let end = v6.find(']').ok_or("unclosed [ in the host")?;
        let host = &v6[..end];
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err("the IPv6 address is not valid");
        }
        (format!("[{host}]"), &v6[end + 1..])
    } else {
        let end = authority.find(':').unwrap_or(authority.len());
        let host = &authority[..end];
        let labels_ok = host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if host.is_empty() || host.len() > 253 || !labels_ok {
            return Err("the host name is not valid");
        }
        (host.to_ascii_lowercase(), &authority[end..])
    };
    let port = match port {
        "" => None,
        p => {
            let digits = p
                .strip_prefix(':')
                .ok_or("unexpected text after the host")?;
            if digits.is_empty() || digits.len() > 5 || !digits.chars().all(|c| c.is_ascii_digit())
            {
                return Err("the port is not a number");
            }
            match digits.parse::<u16>() {
                Ok(0) | Err(_) => {
                    return Err("the port must be 1 to 65535");
                }
                Ok(p) => Some(p),
            }
        }
    };
    Ok((host, port))
}

/// A meeting server's WebSocket address, validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl {
    secure: bool,
    host: String,
    port: Option<u16>,
    path: String,
}

impl ServerUrl {
    pub fn parse(text: &str) -> Result<Self, LinkError> {
        let lower = text
            .chars()
            .take(6)
            .collect::<String>()
            .to_ascii_lowercase();
        let (secure, rest) = if lower.starts_with("wss://") {
            (true, &text[6..])
        } else if lower.starts_with("ws://") {
            (false, &text[5..])
        } else {
            return Err(LinkError::BadServer("it must start with ws:// or wss://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = parse_authority(authority).map_err(LinkError::BadServer)?;
        if !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~'))
        {
            return Err(LinkError::BadServer(
                "the path may only hold letters, digits and / - _ . ~",
            ));
        }
        Ok(Self {
            secure,
            host,
            port,
            path: path.to_string(),
        })
    }

    pub fn is_secure(&self) -> bool {
        self.secure
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}",
            if self.secure { "wss" } else { "ws" },
            self.host
        )?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        f.write_str(&self.path)
    }
}

/// Where and how to join: everything a link or QR code can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingLink {
    /// `None` for a bare meeting ID: the caller's default server applies.
    pub server: Option<ServerUrl>,
    pub room: u64,
    pub pin: Option<String>,
    /// STUN and TURN servers the meeting's host gives with the link.
    pub ice: IceServers,
}

fn percent_decode(value: &str) -> Result<String, LinkError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(LinkError::BadEscape)?;
                let text = std::str::from_utf8(hex).map_err(|_| LinkError::BadEscape)?;
                out.push(u8::from_str_radix(text, 16).map_err(|_| LinkError::BadEscape)?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| LinkError::BadEscape)
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse_room(text: &str) -> Result<u64, LinkError> {
    if text.is_empty() || text.len() > MAX_ROOM_DIGITS || !text.chars().all(|c| c.is_ascii_digit())
    {
        return Err(LinkError::BadRoom);
    }
    text.parse().map_err(|_| LinkError::BadRoom)
}

fn parse_pin(text: &str) -> Result<String, LinkError> {
    let count = text.chars().count();
    if count == 0 || count > MAX_PIN_LEN || text.chars().any(char::is_control) {
        return Err(LinkError::BadPin);
    }
    Ok(text.to_string())
}

/// Strips `s` of `prefix`, compared without regard to case.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The parameters of a link in either of its forms. The web form is what
/// mail and chat make clickable and what a phone's camera opens; its host
/// only serves the invitation page, so the meeting is still named by the
/// parameters alone.
fn link_query(text: &str) -> Result<&str, LinkError> {
    if let Some(query) = strip_prefix_ignore_case(text, "talkline://join?") {
        return Ok(query);
    }
    let rest = strip_prefix_ignore_case(text, "https://").ok_or(LinkError::NotALink)?;
    // Any other page of any site is not an invitation.
    let (location, query) = rest.split_once('?').ok_or(LinkError::NotALink)?;
    let (authority, path) = location.split_at(location.find('/').unwrap_or(location.len()));
    if path != "/join" && path != "/join/" {
        return Err(LinkError::NotALink);
    }
    // Other services' invitations live at /join too (a Zoom code holds
    // https://zoom.us/join?confno=…): without our server parameter it is
    // a web address, not a broken TalkLine link.
    let names_a_server = query
        .split(['&', '#'])
        .any(|pair| pair.split('=').next() == Some("server"));
    if !names_a_server {
        return Err(LinkError::NotALink);
    }
    parse_authority(authority).map_err(LinkError::BadWebAddress)?;
    Ok(query)
}

impl MeetingLink {
    /// Parses a link, a QR payload or a typed meeting ID.
    pub fn parse(input: &str) -> Result<Self, LinkError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(LinkError::Empty);
        }
        if text.len() > MAX_LINK_LEN {
            return Err(LinkError::TooLong);
        }
        if text
            .chars()
            .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            return Ok(Self {
                server: None,
                room: parse_room(&digits)?,
                pin: None,
                ice: IceServers::default(),
            });
        }
        let query = link_query(text)?;
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let (mut server, mut room, mut pin) = (None, None, None);
        let mut ice = IceServers::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(raw)?;
            match key {
                "server" if server.is_some() => return Err(LinkError::Duplicate("server")),
                "server" => server = Some(ServerUrl::parse(&value)?),
                "room" if room.is_some() => return Err(LinkError::Duplicate("room")),
                "room" => room = Some(parse_room(&value)?),
                "pin" if pin.is_some() => return Err(LinkError::Duplicate("pin")),
                "pin" => pin = Some(parse_pin(&value)?),
                "ice" => ice.urls.push(IceUrl::parse(&value)?),
                "ice_username" if ice.username.is_some() => {
                    return Err(LinkError::Duplicate("ice_username"));
                }
                "ice_username" => ice.username = Some(parse_credential(&value)?),
                "ice_credential" if ice.credential.is_some() => {
                    return Err(LinkError::Duplicate("ice_credential"));
                }
                "ice_credential" => ice.credential = Some(parse_credential(&value)?),
                other => {
                    return Err(LinkError::UnknownParameter(
                        other.chars().take(32).collect(),
                    ));
                }
            }
        }
        ice.validate()?;
        Ok(Self {
            server: Some(server.ok_or(LinkError::Missing("server"))?),
            room: room.ok_or(LinkError::Missing("room"))?,
            pin,
            ice,
        })
    }

    /// This meeting with `pin` as its PIN, checked as a link's would be.
    pub fn with_pin(self, pin: &str) -> Result<Self, LinkError> {
        Ok(Self {
            pin: Some(parse_pin(pin)?),
            ..self
        })
    }

    /// The server to use, falling back to `default` for bare IDs.
    pub fn server_or<'a>(&'a self, default: &'a ServerUrl) -> &'a ServerUrl {
        self.server.as_ref().unwrap_or(default)
    }
}

impl fmt::Display for MeetingLink {
    /// The canonical form; a bare ID prints as its digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.server {
            None => write!(f, "{}", self.room),
            Some(server) => {
                write!(f, "talkline://join?server={server}&room={}", self.room)?;
                if let Some(pin) = &self.pin {
                    write!(f, "&pin={}", percent_encode(pin))?;
                }
                for url in &self.ice.urls {
                    write!(f, "&ice={}", percent_encode(&url.to_string()))?;
                }
                if let Some(u) = &self.ice.username {
                    write!(f, "&ice_username={}", percent_encode(u))?;
                }
                if let Some(c) = &self.ice.credential {
                    write!(f, "&ice_credential={}", percent_encode(c))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {

    /// Every reason given in this crate's address parsers, read from the
    /// source: each has its Chinese.
    #[test]
    fn every_reason_for_a_bad_address_is_said_in_chinese() {
        let sources = [include_str!("link.rs"), include_str!("ice_servers.rs")];
        let mut reasons = Vec::new();
        for source in sources {
            let code = source.split("#[cfg(test)]").next().unwrap_or(source);
            for opener in [
                "bad(",
                "BadServer(",
                "BadWebAddress(",
                "BadIceServer(",
                "Err(",
            ] {
                for (at, _) in code.match_indices(opener) {
                    let rest = code[at + opener.len()..].trim_start();
                    if let Some(literal) = rest.strip_prefix('"') {
                        let end = literal.find('"').expect("a closed string");
                        reasons.push(&literal[..end]);
                    }
                }
            }
        }
        assert!(reasons.len() > 15, "{reasons:?}");
        for reason in reasons {
            assert_ne!(reason_zh(reason), reason, "no Chinese for {reason:?}");
        }
    }

    use super::*;

    fn server(s: &str) -> Option<ServerUrl> {
        Some(ServerUrl::parse(s).expect("valid server"))
    }

    #[test]
    fn canonical_links() {
        let link = MeetingLink::parse("talkline://join?server=ws://127.0.0.1:8188&room=1234")
            .expect("valid");
        assert_eq!(link.server, server("ws://127.0.0.1:8188"));
        assert_eq!((link.room, link.pin.as_deref()), (1234, None));
        assert_eq!(
            link.to_string(),
            "talkline://join?server=ws://127.0.0.1:8188&room=1234"
        );

        let link = MeetingLink::parse(" TalkLine://JOIN?room=42&pin=s%26cret%20x&server=wss%3A%2F%2FMeet.Example.org%2Fjanus ")
            .expect("valid");
        assert_eq!(link.server, server("wss://meet.example.org/janus"));
        assert_eq!(link.pin.as_deref(), Some("s&cret x"));
        assert_eq!(MeetingLink::parse(&link.to_string()), Ok(link));

        let v6 =
            MeetingLink::parse("talkline://join?server=ws://[::1]:8188/&room=7").expect("valid");
        assert_eq!(v6.server.as_ref().map(ServerUrl::host), Some("[::1]"));
    }

    #[test]
    fn links_may_carry_stun_and_turn_servers() {
        let text = "talkline://join?server=wss://meet.example.org&room=9\
                    &ice=stun%3Astun.example.org&ice=turn%3Aturn.example.org%3A3478\
                    &ice_username=kim&ice_credential=s%26cret";
        let link = MeetingLink::parse(text).expect("valid");
        assert_eq!(link.ice.urls.len(), 2);
        assert_eq!(link.ice.username.as_deref(), Some("kim"));
        assert_eq!(link.ice.credential.as_deref(), Some("s&cret"));
        assert_eq!(MeetingLink::parse(&link.to_string()), Ok(link));

        for (broken, why) in [
            ("&ice=http%3A%2F%2Fx", "not a STUN or TURN address"),
            ("&ice=turn%3Ax", "TURN without credentials"),
            (
                "&ice=turn%3Ax&ice_username=a&ice_username=b&ice_credential=c",
                "a user name twice",
            ),
            (
                "&ice=stun%3Aa&ice=stun%3Ab&ice=stun%3Ac&ice=stun%3Ad&ice=stun%3Ae",
                "five servers",
            ),
        ] {
            let text = format!("talkline://join?server=ws://h&room=1{broken}");
            assert!(MeetingLink::parse(&text).is_err(), "{why}");
        }
    }

    #[test]
    fn bare_meeting_ids() {
        let link = MeetingLink::parse("123 456-789").expect("valid");
        assert_eq!((link.server, link.room), (None, 123_456_789));
        let default = ServerUrl::parse("ws://127.0.0.1:8188").expect("valid");
        assert_eq!(
            MeetingLink::parse("5").expect("valid").server_or(&default),
            &default
        );
        assert_eq!(
            MeetingLink::parse("12345678901234567"),
            Err(LinkError::BadRoom)
        );
        assert_eq!(MeetingLink::parse(" - "), Err(LinkError::BadRoom));
    }

    #[test]
    fn web_invitations_name_the_same_meeting() {
        let app = MeetingLink::parse(
            "talkline://join?server=wss://sfu.example.org/janus&room=42&pin=a%20b",
        )
        .expect("valid");
        for web in [
            "https://meet.example.org/join?server=wss%3A%2F%2Fsfu.example.org%2Fjanus&room=42&pin=a%20b",
            " HTTPS://Meet.Example.org:8443/join/?room=42&server=wss://sfu.example.org/janus&pin=a%20b#top ",
            "https://[::1]/join?server=wss://sfu.example.org/janus&room=42&pin=a%20b",
        ] {
            assert_eq!(MeetingLink::parse(web).as_ref(), Ok(&app), "{web}");
        }
        // Shown and stored in the canonical form.
        assert_eq!(
            app.to_string(),
            "talkline://join?server=wss://sfu.example.org/janus&room=42&pin=a%20b"
        );
    }

    #[test]
    fn malformed_links_say_what_is_wrong() {
        use LinkError::*;
        let cases: &[(&str, LinkError)] = &[
            ("", Empty),
            ("   ", Empty),
            ("https://example.org/j/1", NotALink),
            ("https://example.org/join", NotALink),
            ("https://example.org/join/now?room=1", NotALink),
            ("https://example.org/?room=1", NotALink),
            ("http://example.org/join?server=ws://h&room=1", NotALink),
            ("https://example.org/join?room=1", NotALink),
            ("https://zoom.example/join?confno=1", NotALink),
            ("https://example.org/join?server=ws://h", Missing("room")),
            (
                "https://user@example.org/join?server=ws://h&room=1",
                BadWebAddress("it must not carry a user name or password"),
            ),
            (
                "https://example.org:0/join?server=ws://h&room=1",
                BadWebAddress("the port must be 1 to 65535"),
            ),
            (
                "https://exa mple.org/join?server=ws://h&room=1",
                BadWebAddress("the host name is not valid"),
            ),
            ("talkline://call?room=1", NotALink),
            ("talkline://join?room=1", Missing("server")),
            ("talkline://join?server=ws://h", Missing("room")),
            (
                "talkline://join?server=ws://h&room=1&room=2",
                Duplicate("room"),
            ),
            (
                "talkline://join?server=ws://h&room=1&x=2",
                UnknownParameter("x".into()),
            ),
            ("talkline://join?server=ws://h&room=1%", BadEscape),
            ("talkline://join?server=ws://h&room=%zz", BadEscape),
            ("talkline://join?server=ws://h&room=%ff", BadEscape),
            ("talkline://join?server=ws://h&room=-1", BadRoom),
            (
                "talkline://join?server=ws://h&room=99999999999999999",
                BadRoom,
            ),
            ("talkline://join?server=ws://h&room=1&pin=", BadPin),
            ("talkline://join?server=ws://h&room=1&pin=a%0Ab", BadPin),
            (
                "talkline://join?server=http://h&room=1",
                BadServer("it must start with ws:// or wss://"),
            ),
            (
                "talkline://join?server=ws://u:p@h&room=1",
                BadServer("it must not carry a user name or password"),
            ),
            (
                "talkline://join?server=ws://h:0&room=1",
                BadServer("the port must be 1 to 65535"),
            ),
            (
                "talkline://join?server=ws://h:70000&room=1",
                BadServer("the port must be 1 to 65535"),
            ),
            (
                "talkline://join?server=ws://h:8a&room=1",
                BadServer("the port is not a number"),
            ),
            (
                "talkline://join?server=ws://&room=1",
                BadServer("the host name is not valid"),
            ),
            (
                "talkline://join?server=ws://a..b&room=1",
                BadServer("the host name is not valid"),
            ),
            (
                "talkline://join?server=ws://[::1&room=1",
                BadServer("unclosed [ in the host"),
            ),
            (
                "talkline://join?server=ws://h/a?b&room=1",
                BadServer("the path may only hold letters, digits and / - _ . ~"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &MeetingLink::parse(input).expect_err(input),
                expected,
                "{input}"
            );
        }
        assert_eq!(MeetingLink::parse(&"1".repeat(3000)), Err(TooLong));
    }

    /// xorshift, so the fuzz corpus is the same on every run and machine.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn fuzzed_inputs_never_panic_and_valid_ones_round_trip() {
        let seeds = [
            "talkline://join?server=ws://127.0.0.1:8188&room=1234&pin=secret",
            "talkline://join?server=wss%3A%2F%2Fh.example%3A443%2Fws&room=9",
            "123 456",
        ];
        let alphabet: Vec<char> =
            "%&=?#:/[]@.-_~+ 09azAZé\u{0}\u{7f}€talkline://join?serverroompin"
                .chars()
                .collect();
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut accepted = 0;
        for i in 0..50_000 {
            let mut chars: Vec<char> = seeds[i % seeds.len()].chars().collect();
            for _ in 0..1 + rng.next() % 4 {
                let pos = (rng.next() as usize) % (chars.len() + 1);
                let c = alphabet[(rng.next() as usize) % alphabet.len()];
                match rng.next() % 3 {
                    0 if pos < chars.len() => chars[pos] = c,
                    1 if pos < chars.len() => {
                        chars.remove(pos);
                    }
                    _ => chars.insert(pos, c),
                }
            }
            let input: String = chars.into_iter().collect();
            if let Ok(link) = MeetingLink::parse(&input) {
                accepted += 1;
                assert_eq!(
                    MeetingLink::parse(&link.to_string()),
                    Ok(link.clone()),
                    "{input:?}"
                );
            }
        }
        // The mutations must exercise both branches, or this test proves nothing.
        assert!(accepted > 1_000 && accepted < 49_000, "accepted {accepted}");
    }
}
