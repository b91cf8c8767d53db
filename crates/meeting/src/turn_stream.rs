//! TURN over TCP and TLS, under webrtc-rs's TURN client.
//!
//! webrtc-rs 0.21 talks to TURN servers over UDP only, but the networks
//! that need a relay most (hotels, offices) often let only TCP and TLS out.
//! A TURN server's messages are the same on every transport (RFC 8656
//! §3.2): on a stream, STUN messages and ChannelData follow each other
//! back to back, and ChannelData is padded to four bytes. So each stream
//! server gets a relay of its own on this device: a UDP socket the
//! peer connection's TURN client is pointed at, and one TCP (or TLS)
//! connection to the real server, opened when the first request arrives.
//! What the client sends is framed onto the stream unchanged; what the
//! server sends is cut back into datagrams. The relay the server allocates
//! still reaches Janus over UDP, as `turn:…?transport=tcp` and `turns:` mean.
//!
//! `Deframer` and `stream_frame` are the framing, pure; `TurnStreamRelay`
//! is the socket side.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::ice_servers::{IceScheme, IceUrl, TurnTransport};

/// A STUN header: type, length, magic cookie, transaction id.
const STUN_HEADER_LEN: usize = 20;
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
/// Channel number, length.
const CHANNEL_HEADER_LEN: usize = 4;
/// RFC 8656 §12: channel numbers 0x4000 through 0x4FFF.
const CHANNEL_NUMBERS: std::ops::RangeInclusive<u16> = 0x4000..=0x4fff;
/// The longest frame either kind can make, padding included: a STUN
/// message whose body is the longest multiple of four a u16 can count
/// (ChannelData's longest, padded, is 65 540).
pub(crate) const MAX_FRAME_LEN: usize = STUN_HEADER_LEN + (u16::MAX as usize & !3);
/// How long the TCP and TLS handshakes may take together.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// After a failed connection, requests are dropped for this long (the
/// client retransmits them; the server is not dialled at that rate).
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FramingError {
    /// Neither a STUN message nor ChannelData: the stream has lost its
    /// place (or is not TURN) and must be closed.
    NotTurn,
    /// A datagram whose length disagrees with its header.
    BadLength,
}

/// The length a frame starting with `header` has on a stream (padding
/// included) and without its padding, once enough of it is known.
fn frame_len(header: &[u8]) -> Result<Option<(usize, usize)>, FramingError> {
    let Some(&first) = header.first() else {
        return Ok(None);
    };
    match first >> 6 {
        0b00 => {
            if header.len() < STUN_HEADER_LEN {
                return Ok(None);
            }
            if header[4..8] != STUN_MAGIC_COOKIE {
                return Err(FramingError::NotTurn);
            }
            let body = usize::from(u16::from_be_bytes([header[2], header[3]]));
            if body % 4 != 0 {
                return Err(FramingError::NotTurn);
            }
            let len = STUN_HEADER_LEN + body;
            Ok(Some((len, len)))
        }
        0b01 => {
            if header.len() < CHANNEL_HEADER_LEN {
                return Ok(None);
            }
            let channel = u16::from_be_bytes([header[0], header[1]]);
            if !CHANNEL_NUMBERS.contains(&channel) {
                return Err(FramingError::NotTurn);
            }
            let len = CHANNEL_HEADER_LEN + usize::from(u16::from_be_bytes([header[2], header[3]]));
            Ok(Some((len.next_multiple_of(4), len)))
        }
        _ => Err(FramingError::NotTurn),
    }
}

/// Writes `datagram`, from the TURN client, into `out` as the stream
/// carries it; returns how many bytes of `out` to send. `out` must hold
/// `MAX_FRAME_LEN` bytes. A datagram may carry padding after ChannelData
/// (optional over UDP); it is cut to the header's length, then padded.
pub(crate) fn stream_frame(datagram: &[u8], out: &mut [u8]) -> Result<usize, FramingError> {
    let (on_stream, len) = frame_len(datagram)?.ok_or(FramingError::BadLength)?;
    let exact = datagram.first().is_some_and(|b| b >> 6 == 0);
    if datagram.len() < len || (exact && datagram.len() != len) || out.len() < on_stream {
        return Err(FramingError::BadLength);
    }
    out[..len].copy_from_slice(&datagram[..len]);
    out[len..on_stream].fill(0);
    Ok(on_stream)
}

/// Cuts a byte stream from a TURN server back into the datagrams the
/// client expects. Holds one buffer for the connection's life: nothing is
/// allocated per message.
pub(crate) struct Deframer {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Default for Deframer {
    fn default() -> Self {
        Self {
            // Room for a whole frame behind an incomplete one (see `spare`).
            buf: vec![0; 2 * MAX_FRAME_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }
}

impl Deframer {
    /// Where the next read goes; never empty. What is left unread after
    /// `next_frame` returned `None` is less than one frame, so moving it to
    /// the front leaves room for at least one more.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.buf.len() - self.end < MAX_FRAME_LEN {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Counts `n` bytes read into `spare()`.
    pub(crate) fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The next whole message, without its stream padding.
    pub(crate) fn next_frame(&mut self) -> Result<Option<&[u8]>, FramingError> {
        let pending = &self.buf[self.start..self.end];
        let Some((on_stream, len)) = frame_len(pending)? else {
            return Ok(None);
        };
        if pending.len() < on_stream {
            return Ok(None);
        }
        let frame = self.start..self.start + len;
        self.start += on_stream;
        Ok(Some(&self.buf[frame]))
    }
}

/// The servers that need a relay of their own: TURN over TCP or TLS.
pub(crate) fn needs_stream(url: &IceUrl) -> bool {
    url.scheme() == IceScheme::Turns
        || (url.scheme() == IceScheme::Turn && url.transport() == TurnTransport::Tcp)
}

trait TurnStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> TurnStream for T {}

/// One stream server's relay on this device. Dropping it closes the
/// socket and the connection.
pub(crate) struct TurnStreamRelay {
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TurnStreamRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TurnStreamRelay {
    /// Binds the relay's socket on `local_ip`, the address the peer
    /// connection's own socket has (so the two reach each other wherever
    /// that is).
    ///
    /// `report` hears, in words for the user, why the server cannot be
    /// reached, each time it cannot.
    pub(crate) async fn start(
        server: IceUrl,
        local_ip: IpAddr,
        report: impl Fn(String) + Send + 'static,
    ) -> io::Result<Self> {
        let socket = UdpSocket::bind(SocketAddr::new(local_ip, 0)).await?;
        let local = socket.local_addr()?;
        let task = tokio::spawn(relay(socket, server, report));
        Ok(Self { local, task })
    }

    /// The URL webrtc-rs is given in place of the server's.
    pub(crate) fn client_url(&self) -> String {
        format!("turn:{}?transport=udp", self.local)
    }
}

/// Moves messages between the client's socket and the server's stream
/// until the relay is dropped. Only the first sender is served (one peer
/// connection, one socket), so nothing else on the device can use the
/// allocation.
async fn relay(socket: UdpSocket, server: IceUrl, report: impl Fn(String)) {
    let mut datagram = vec![0u8; MAX_FRAME_LEN];
    let mut framed = vec![0u8; MAX_FRAME_LEN];
    let mut client: Option<SocketAddr> = None;
    loop {
        // Idle until the client asks for something.
        let Ok((n, from)) = socket.recv_from(&mut datagram).await else {
            return;
        };
        if client.is_some_and(|c| c != from) || !same_device(&socket, from) {
            continue;
        }
        client = Some(from);
        let over = transport_name(&server);
        let mut stream = match connect(&server).await {
            Ok(stream) => stream,
            Err(failure) => {
                // Logs name no server (see `MeetingError::for_logs`).
                log::warn!(
                    "a TURN server over {over} is unreachable: {}",
                    failure.for_logs()
                );
                report(format!(
                    "cannot reach the TURN server {server}: {}",
                    failure.for_user()
                ));
                tokio::time::sleep(RECONNECT_AFTER).await;
                continue;
            }
        };
        log::info!("connected to a TURN server over {over}");
        let mut deframer = Deframer::default();
        let mut pending = Some(n);
        loop {
            if let Some(n) = pending.take() {
                match stream_frame(&datagram[..n], &mut framed) {
                    Ok(len) => {
                        if let Err(e) = stream.write_all(&framed[..len]).await {
                            log::warn!("lost the connection to a TURN server over {over} ({e})");
                            break;
                        }
                    }
                    Err(e) => log::debug!("TURN client sent {e:?}; dropped"),
                }
            }
            tokio::select! {
                got = socket.recv_from(&mut datagram) => match got {
                    Ok((n, from)) if Some(from) == client => pending = Some(n),
                    Ok(_) => {}
                    Err(_) => return,
                },
                read = stream.read(deframer.spare()) => match read {
                    Ok(0) | Err(_) => {
                        log::info!("a TURN server over {over} closed the connection");
                        break;
                    }
                    Ok(n) => {
                        deframer.filled(n);
                        if !forward_frames(&mut deframer, &socket, from).await {
                            log::warn!("a TURN server over {over} sent something that is not TURN");
                            break;
                        }
                    }
                },
            }
        }
    }
}

/// Whether `from` is a socket on the address the relay is bound to.
fn same_device(socket: &UdpSocket, from: SocketAddr) -> bool {
    socket
        .local_addr()
        .is_ok_and(|local| local.ip().is_unspecified() || local.ip() == from.ip())
}

/// Sends every whole frame to the client; false when the stream is not
/// TURN.
async fn forward_frames(deframer: &mut Deframer, socket: &UdpSocket, client: SocketAddr) -> bool {
    loop {
        match deframer.next_frame() {
            Ok(Some(frame)) => {
                // A full socket buffer drops a datagram, as UDP would.
                let _ = socket.send_to(frame, client).await;
            }
            Ok(None) => return true,
            Err(_) => return false,
        }
    }
}

fn transport_name(server: &IceUrl) -> &'static str {
    match server.scheme() {
        IceScheme::Turns => "TLS",
        _ => "TCP",
    }
}

/// Why a stream server could not be reached.
#[derive(Debug)]
enum Unreachable {
    Connect(io::Error),
    Timeout,
    /// The certificate was refused; the user's words name the server.
    Certificate(String),
    Tls(String),
    NoTrustedRoots(String),
    BadName,
}

impl Unreachable {
    fn for_user(&self) -> String {
        match self {
            Self::Connect(e) => format!("cannot connect ({e}); is it running and open to TCP?"),
            Self::Timeout => "no answer within 5 s".into(),
            Self::Certificate(why) => why.clone(),
            Self::Tls(e) => format!("the TLS handshake failed ({e})"),
            Self::NoTrustedRoots(e) => e.clone(),
            Self::BadName => "its name cannot be checked against a certificate".into(),
        }
    }

    fn for_logs(&self) -> &'static str {
        match self {
            Self::Connect(_) => "cannot connect",
            Self::Timeout => "no answer",
            Self::Certificate(_) => "its certificate was refused",
            Self::Tls(_) => "the TLS handshake failed",
            Self::NoTrustedRoots(_) => "no trusted certificates on this device",
            Self::BadName => "not a TLS server name",
        }
    }
}

/// Dials the server, over TLS for `turns:` (verified as `wss://` is: the
/// platform's roots, no way around them).
async fn connect(server: &IceUrl) -> Result<Box<dyn TurnStream>, Unreachable> {
    let dial = async {
        let tcp = TcpStream::connect((server.host(), server.port()))
            .await
            .map_err(Unreachable::Connect)?;
        let _ = tcp.set_nodelay(true);
        if server.scheme() != IceScheme::Turns {
            return Ok(Box::new(tcp) as Box<dyn TurnStream>);
        }
        let config = crate::janus::tls::client_config()
            .map_err(|e| Unreachable::NoTrustedRoots(e.to_string()))?;
        let name =
            ServerName::try_from(server.host().to_string()).map_err(|_| Unreachable::BadName)?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&config))
            .connect(name, tcp)
            .await
            .map_err(|e| {
                match crate::janus::tls::describe_certificate_failure(&e, server.host()) {
                    Some(why) => Unreachable::Certificate(why),
                    None => Unreachable::Tls(e.to_string()),
                }
            })?;
        Ok(Box::new(tls) as Box<dyn TurnStream>)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, dial)
        .await
        .map_err(|_| Unreachable::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun(body_len: u16, tag: u8) -> Vec<u8> {
        let mut m = vec![0x00, 0x01];
        m.extend(body_len.to_be_bytes());
        m.extend(STUN_MAGIC_COOKIE);
        m.extend([tag; 12]);
        m.extend(vec![tag; usize::from(body_len)]);
        m
    }

    fn channel_data(channel: u16, payload: &[u8]) -> Vec<u8> {
        let mut m = channel.to_be_bytes().to_vec();
        m.extend((payload.len() as u16).to_be_bytes());
        m.extend(payload);
        m
    }

    fn framed(datagram: &[u8]) -> Vec<u8> {
        let mut out = vec![0; MAX_FRAME_LEN];
        let n = stream_frame(datagram, &mut out).expect("frames");
        out.truncate(n);
        out
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_stun_is_not() {
        let request = stun(8, 7);
        assert_eq!(framed(&request), request);
        let data = channel_data(0x4001, &[1, 2, 3, 4, 5]);
        let on_stream = framed(&data);
        assert_eq!(on_stream.len(), 12);
        assert_eq!(&on_stream[..9], &data[..]);
        assert_eq!(&on_stream[9..], &[0, 0, 0]);
        // Padding that came over UDP is cut and made again.
        let mut padded = data.clone();
        padded.extend([0xee, 0xee, 0xee]);
        assert_eq!(framed(&padded), on_stream);
    }

    #[test]
    fn datagrams_that_are_not_turn_are_refused() {
        let mut out = vec![0; MAX_FRAME_LEN];
        let mut bad_cookie = stun(4, 1);
        bad_cookie[4] = 0;
        let mut long_stun = stun(4, 1);
        long_stun.push(0);
        for (datagram, why) in [
            (vec![], FramingError::BadLength),
            (vec![0x00, 0x01], FramingError::BadLength),
            (stun(4, 1)[..22].to_vec(), FramingError::BadLength),
            (long_stun, FramingError::BadLength),
            (bad_cookie, FramingError::NotTurn),
            (
                channel_data(0x4001, &[1; 8])[..10].to_vec(),
                FramingError::BadLength,
            ),
            (channel_data(0x5000, &[1; 4]), FramingError::NotTurn),
            (vec![0x80; 40], FramingError::NotTurn), // RTP
            (vec![0x16; 40], FramingError::NotTurn), // DTLS
        ] {
            assert_eq!(stream_frame(&datagram, &mut out), Err(why), "{datagram:?}");
        }
    }

    /// Feeds `stream` to a deframer in reads of the given sizes (cycled)
    /// and collects the frames.
    fn deframe(stream: &[u8], reads: &[usize]) -> Result<Vec<Vec<u8>>, FramingError> {
        let mut deframer = Deframer::default();
        let mut frames = Vec::new();
        let mut at = 0;
        for &size in reads.iter().cycle() {
            if at == stream.len() {
                break;
            }
            let spare = deframer.spare();
            let n = size.min(spare.len()).min(stream.len() - at);
            spare[..n].copy_from_slice(&stream[at..at + n]);
            deframer.filled(n);
            at += n;
            while let Some(frame) = deframer.next_frame()? {
                frames.push(frame.to_vec());
            }
        }
        Ok(frames)
    }

    #[test]
    fn a_stream_is_cut_into_the_datagrams_it_carries_however_it_is_read() {
        let messages = [
            stun(0, 1),
            channel_data(0x4000, &[9; 1]),
            channel_data(0x4fff, &[8; 1200]),
            stun(64, 2),
            channel_data(0x4002, &[]),
            channel_data(0x4003, &[7; 3]),
        ];
        let stream: Vec<u8> = messages.iter().flat_map(|m| framed(m)).collect();
        for reads in [
            &[stream.len()][..],
            &[1],
            &[3, 7],
            &[19, 1, 1, 300],
            &[4096],
        ] {
            assert_eq!(
                deframe(&stream, reads).expect("deframes"),
                messages,
                "{reads:?}"
            );
        }
    }

    #[test]
    fn the_largest_messages_pass_back_to_back_through_one_buffer() {
        let big = channel_data(0x4001, &[5; u16::MAX as usize]);
        let also_big = stun(u16::MAX - 3, 6);
        let messages: Vec<Vec<u8>> = (0..5)
            .flat_map(|_| [big.clone(), also_big.clone(), channel_data(0x4001, &[1])])
            .collect();
        let stream: Vec<u8> = messages.iter().flat_map(|m| framed(m)).collect();
        for reads in [&[70_000][..], &[65_539, 3], &[10_007]] {
            assert_eq!(deframe(&stream, reads).expect("deframes"), messages);
        }
    }

    #[test]
    fn a_stream_that_loses_its_place_is_an_error_not_a_panic() {
        let mut stream = framed(&stun(4, 1));
        stream.extend([0xff; 64]);
        assert_eq!(deframe(&stream, &[5]), Err(FramingError::NotTurn));
        let mut odd = stun(6, 1);
        odd[3] = 6;
        assert_eq!(deframe(&odd, &[26]), Err(FramingError::NotTurn));
    }

    #[test]
    fn only_turn_over_tcp_and_tls_needs_a_relay() {
        for (url, stream) in [
            ("turn:h", false),
            ("turn:h?transport=udp", false),
            ("stun:h", false),
            ("turn:h?transport=tcp", true),
            ("turns:h", true),
        ] {
            let url = IceUrl::parse(url).expect("valid");
            assert_eq!(needs_stream(&url), stream, "{url}");
        }
    }
}
