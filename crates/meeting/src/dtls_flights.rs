//! DTLS handshakes that survive a lossy path, one layer under webrtc-rs.
//!
//! webrtc-rs 0.21's handshaker stops its retransmission timer whenever a
//! handshake record arrives, even one that cannot move the handshake on:
//! when part of our flight is lost and Janus repeats its own flight, we
//! never send ours again and the handshake hangs until the call gives up
//! (one subscription in ten at 10% loss). RFC 6347 §4.2.4 asks the other
//! way round: a repeated flight from the peer is answered by repeating
//! ours. This layer does that on the socket, and also sends every
//! handshake datagram three times, so a flight of several datagrams is not
//! lost for want of one of them: Janus (OpenSSL) repeats its own flight
//! only on a timer that doubles, 1 s, 2 s, 4 s, so each of our flights
//! lost costs seconds. At 20% loss a two-datagram flight sent once is lost
//! 36% of the time, twice 8%, three times 1.6%. Handshakes are a few
//! datagrams a call; media passes through with one byte looked at.
//!
//! It also hands the peer's first flight to webrtc-rs again while nothing
//! has answered it. webrtc-rs drops every datagram that is not STUN until
//! ICE has selected a pair, and Janus starts its handshake as soon as *its*
//! ICE agent is connected: on a lossy path the check that tells us which
//! pair Janus chose comes later, Janus's ClientHello is dropped, and Janus
//! only repeats it a second later (then two, then four). Handing the held
//! ClientHello over every 50 ms lets the handshake start the moment our
//! ICE is ready; nothing more goes on the wire.
//!
//! `FlightMemory` is the logic, pure; `HandshakeGuardRuntime` puts it
//! under the peer connection's UDP sockets.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, RecvMeta, Runtime,
    TokioRuntime, Transmit,
};

const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_HANDSHAKE: u8 = 22;
/// RFC 7983: a first byte in 20..=63 is DTLS.
const DTLS_FIRST_BYTES: std::ops::RangeInclusive<u8> = 20..=63;
const RECORD_HEADER_LEN: usize = 13;
const HANDSHAKE_HEADER_LEN: usize = 12;
/// A flight is a handful of datagrams; more than this is not a handshake.
const MAX_FLIGHT_DATAGRAMS: usize = 16;
/// Peers remembered per socket (one server per peer connection, in practice).
const MAX_PEERS: usize = 8;
/// A repeated flight is answered at most this often: one loss burst makes
/// the peer repeat several datagrams, and one answer is enough.
const MIN_RESEND_GAP: Duration = Duration::from_millis(100);
/// How many times each handshake datagram goes out, the first included.
const HANDSHAKE_COPIES: usize = 3;
/// How often the peer's unanswered first flight is handed over again: the
/// pace of our ICE checks, so the handshake starts within one check of ICE
/// selecting a pair.
const REDELIVER_EVERY: Duration = Duration::from_millis(50);
/// How long it is handed over: past this ICE has failed, or the peer's own
/// retransmissions (1 s, 2 s, 4 s) are as good.
const REDELIVER_FOR: Duration = Duration::from_secs(3);

/// What one datagram holds, as far as the handshake is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handshake {
    /// Not DTLS, or DTLS that is not part of a handshake (application data,
    /// alerts).
    None,
    /// Handshake records, with the highest readable message sequence (the
    /// encrypted Finished has none).
    Flight { highest_message_seq: Option<u16> },
}

/// Reads the records of a datagram; a malformed one ends the reading.
fn classify(datagram: &[u8]) -> Handshake {
    if !datagram
        .first()
        .is_some_and(|b| DTLS_FIRST_BYTES.contains(b))
    {
        return Handshake::None;
    }
    let mut rest = datagram;
    let mut handshake = false;
    let mut highest: Option<u16> = None;
    while rest.len() >= RECORD_HEADER_LEN {
        let content = rest[0];
        let epoch = u16::from_be_bytes([rest[3], rest[4]]);
        let len = usize::from(u16::from_be_bytes([rest[11], rest[12]]));
        let Some(body) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
            break;
        };
        match content {
            CONTENT_HANDSHAKE => {
                handshake = true;
                if epoch == 0 && body.len() >= HANDSHAKE_HEADER_LEN {
                    let seq = u16::from_be_bytes([body[4], body[5]]);
                    highest = Some(highest.map_or(seq, |h| h.max(seq)));
                }
            }
            CONTENT_CHANGE_CIPHER_SPEC => handshake = true,
            _ => {}
        }
        rest = &rest[RECORD_HEADER_LEN + len..];
    }
    if handshake {
        Handshake::Flight {
            highest_message_seq: highest,
        }
    } else {
        Handshake::None
    }
}

/// Whether two datagrams carry the same records but for their record
/// sequence numbers: a retransmission, which DTLS numbers anew. An
/// encrypted record (epoch above 0, the Finished) is encrypted anew too,
/// so its type, epoch and length are all that can match.
fn same_records(a: &[u8], b: &[u8]) -> bool {
    const SEQ: std::ops::Range<usize> = 5..11;
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a, b);
    while a.len() >= RECORD_HEADER_LEN && b.len() >= RECORD_HEADER_LEN {
        let len = RECORD_HEADER_LEN + usize::from(u16::from_be_bytes([a[11], a[12]]));
        if a[..SEQ.start] != b[..SEQ.start]
            || a[SEQ.end..RECORD_HEADER_LEN] != b[SEQ.end..RECORD_HEADER_LEN]
        {
            return false;
        }
        let (Some(body_a), Some(body_b)) =
            (a.get(RECORD_HEADER_LEN..len), b.get(RECORD_HEADER_LEN..len))
        else {
            return a == b;
        };
        let encrypted = u16::from_be_bytes([a[3], a[4]]) > 0;
        if !encrypted && body_a != body_b {
            return false;
        }
        a = &a[len..];
        b = &b[len..];
    }
    a == b
}

#[derive(Debug, Default)]
struct PeerFlights {
    /// Our last flight's datagrams.
    ours: Vec<Bytes>,
    /// The peer has sent something new since: our next handshake datagram
    /// starts a new flight.
    ours_answered: bool,
    /// The highest message sequence the peer has sent.
    peer_highest: Option<u16>,
    last_resend: Option<Instant>,
    /// We have sent this peer a handshake datagram: our ICE had a pair.
    answered_once: bool,
    /// The peer's first flight, while we have answered nothing.
    early: Option<EarlyFlight>,
}

/// The peer's first flight as received, handed over again in rounds.
#[derive(Debug)]
struct EarlyFlight {
    datagrams: Vec<(Bytes, RecvMeta)>,
    since: Instant,
    /// When the next round starts.
    next_round: Instant,
    /// The next datagram of the running round; `datagrams.len()` between
    /// rounds.
    cursor: usize,
    /// Rounds started so far.
    rounds: u32,
}

/// What to hand webrtc-rs from the held first flights.
#[derive(Debug)]
pub enum Redelivery {
    /// This datagram, as if it had just arrived.
    Now(Bytes, RecvMeta),
    /// Nothing before this instant.
    At(Instant),
    /// Nothing is held.
    Idle,
}

/// Our handshake flights and the peer's progress, per peer.
#[derive(Debug, Default)]
pub struct FlightMemory {
    peers: VecDeque<(SocketAddr, PeerFlights)>,
}

impl FlightMemory {
    fn peer(&mut self, addr: SocketAddr) -> &mut PeerFlights {
        if let Some(i) = self.peers.iter().position(|(a, _)| *a == addr) {
            return &mut self.peers[i].1;
        }
        if self.peers.len() == MAX_PEERS {
            self.peers.pop_front();
        }
        self.peers.push_back((addr, PeerFlights::default()));
        let last = self.peers.len() - 1;
        &mut self.peers[last].1
    }

    /// We send `datagram` to `to`. Returns whether it is a handshake
    /// datagram, to be sent `HANDSHAKE_COPIES` times.
    pub fn sent(&mut self, to: SocketAddr, datagram: &[u8]) -> bool {
        if classify(datagram) == Handshake::None {
            return false;
        }
        let peer = self.peer(to);
        peer.answered_once = true;
        if let Some(early) = peer.early.take().filter(|e| e.rounds > 0) {
            log::debug!(
                "the DTLS peer's first flight answered after {} more hand-overs",
                early.rounds
            );
        }
        if peer.ours_answered {
            peer.ours.clear();
            peer.ours_answered = false;
        }
        // webrtc-rs's own retransmissions are the same records again.
        if peer.ours.len() < MAX_FLIGHT_DATAGRAMS
            && !peer.ours.iter().any(|d| same_records(d, datagram))
        {
            peer.ours.push(Bytes::copy_from_slice(datagram));
        }
        true
    }

    /// `datagram` came from `from`. Returns our last flight when the peer
    /// has just repeated a flight of its own: it did not get all of ours.
    pub fn received(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) -> Vec<Bytes> {
        let Handshake::Flight {
            highest_message_seq: Some(seq),
        } = classify(datagram)
        else {
            return Vec::new();
        };
        let peer = self.peer(from);
        match peer.peer_highest {
            Some(highest) if seq <= highest => {
                let recent = peer
                    .last_resend
                    .is_some_and(|at| now.saturating_duration_since(at) < MIN_RESEND_GAP);
                if recent || peer.ours.is_empty() {
                    return Vec::new();
                }
                peer.last_resend = Some(now);
                peer.ours.clone()
            }
            _ => {
                peer.peer_highest = Some(seq);
                peer.ours_answered = true;
                Vec::new()
            }
        }
    }

    /// `datagram` came as `meta` says: held if it is part of the peer's
    /// first flight and we have answered nothing yet. Returns whether it
    /// was held.
    pub fn hold_early(&mut self, meta: RecvMeta, datagram: &[u8], now: Instant) -> bool {
        if classify(datagram) == Handshake::None {
            return false;
        }
        let peer = self.peer(meta.addr);
        if peer.answered_once {
            return false;
        }
        let early = peer.early.get_or_insert_with(|| EarlyFlight {
            datagrams: Vec::new(),
            since: now,
            next_round: now + REDELIVER_EVERY,
            cursor: 0,
            rounds: 0,
        });
        // Janus repeating its ClientHello is the same flight again.
        if early.datagrams.len() >= MAX_FLIGHT_DATAGRAMS
            || early
                .datagrams
                .iter()
                .any(|(d, _)| same_records(d, datagram))
        {
            return false;
        }
        let at_rest = early.cursor == early.datagrams.len();
        let mut meta = meta;
        meta.len = datagram.len();
        meta.stride = datagram.len();
        early
            .datagrams
            .push((Bytes::copy_from_slice(datagram), meta));
        if at_rest {
            // It was just delivered: the next round hands it over again.
            early.cursor = early.datagrams.len();
        }
        true
    }

    /// The next held datagram to hand over, or when there will be one.
    pub fn next_redelivery(&mut self, now: Instant) -> Redelivery {
        let mut soonest: Option<Instant> = None;
        for (_, peer) in self.peers.iter_mut() {
            let Some(early) = peer.early.as_mut() else {
                continue;
            };
            if now.saturating_duration_since(early.since) >= REDELIVER_FOR {
                peer.early = None;
                continue;
            }
            if early.cursor == early.datagrams.len() && now >= early.next_round {
                early.cursor = 0;
                early.rounds += 1;
            }
            if let Some((datagram, meta)) = early.datagrams.get(early.cursor) {
                let next = (datagram.clone(), *meta);
                early.cursor += 1;
                if early.cursor == early.datagrams.len() {
                    early.next_round = now + REDELIVER_EVERY;
                }
                return Redelivery::Now(next.0, next.1);
            }
            soonest = Some(soonest.map_or(early.next_round, |s| s.min(early.next_round)));
        }
        soonest.map_or(Redelivery::Idle, Redelivery::At)
    }
}

/// A UDP socket with `FlightMemory` on it.
struct GuardedUdpSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    flights: Mutex<FlightMemory>,
    /// A first flight is held: checked without the lock when the socket
    /// has nothing to read.
    holding: AtomicBool,
    /// Wakes the reader for the next round of a held flight.
    round_timer: Mutex<Option<Pin<Box<tokio::time::Sleep>>>>,
}

impl fmt::Debug for GuardedUdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedUdpSocket")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Cheap test before any lock: media (RTP, STUN) never takes it.
fn maybe_dtls(datagram: &[u8]) -> bool {
    datagram
        .first()
        .is_some_and(|b| DTLS_FIRST_BYTES.contains(b))
}

impl GuardedUdpSocket {
    fn flights(&self) -> std::sync::MutexGuard<'_, FlightMemory> {
        // A panic elsewhere while holding it leaves plain data behind.
        self.flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// With nothing to read: the next datagram of a held first flight, or
    /// a timer armed for the next round.
    fn redeliver(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let (Some(buf), Some(slot)) = (bufs.first_mut(), meta.first_mut()) else {
            return Poll::Pending;
        };
        loop {
            let next = {
                let mut flights = self.flights();
                let next = flights.next_redelivery(Instant::now());
                if matches!(next, Redelivery::Idle) {
                    // Under the lock: a flight held meanwhile sets it again.
                    self.holding.store(false, Ordering::Relaxed);
                }
                next
            };
            match next {
                Redelivery::Now(datagram, m) => {
                    let Some(dest) = buf.get_mut(..datagram.len()) else {
                        // webrtc-rs reads into buffers of a full MTU; a
                        // datagram that came in one fits it again.
                        log::debug!("a held DTLS datagram does not fit the read buffer");
                        continue;
                    };
                    dest.copy_from_slice(&datagram);
                    *slot = m;
                    return Poll::Ready(Ok(1));
                }
                Redelivery::Idle => return Poll::Pending,
                Redelivery::At(at) => {
                    // Outside a tokio runtime the next datagram read starts
                    // the round instead.
                    if tokio::runtime::Handle::try_current().is_err() {
                        return Poll::Pending;
                    }
                    let mut timer = self
                        .round_timer
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let sleep =
                        timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
                    sleep.as_mut().reset(at.into());
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    /// Best effort: a datagram that cannot go now is one more loss.
    fn send_copies(&self, cx: &mut Context<'_>, to: SocketAddr, datagram: &[u8], copies: usize) {
        let transmit = Transmit {
            destination: to,
            ecn: None,
            contents: datagram,
            segment_size: None,
            src_ip: None,
        };
        for _ in 0..copies {
            let _ = self.inner.poll_send(cx, &transmit);
        }
    }
}

impl AsyncUdpSocket for GuardedUdpSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn max_gso_segments(&self) -> usize {
        self.inner.max_gso_segments()
    }

    fn max_gro_segments(&self) -> usize {
        self.inner.max_gro_segments()
    }

    fn poll_send(&self, cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let sent = self.inner.poll_send(cx, transmit);
        let single = transmit.segment_size.is_none();
        if single
            && matches!(sent, Poll::Ready(Ok(_)))
            && maybe_dtls(transmit.contents)
            && self.flights().sent(transmit.destination, transmit.contents)
        {
            self.send_copies(
                cx,
                transmit.destination,
                transmit.contents,
                HANDSHAKE_COPIES - 1,
            );
        }
        sent
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let received = self.inner.poll_recv(cx, bufs, meta);
        if received.is_pending() && self.holding.load(Ordering::Relaxed) {
            return self.redeliver(cx, bufs, meta);
        }
        if let Poll::Ready(Ok(n)) = received {
            let now = Instant::now();
            for (buf, m) in bufs.iter().zip(meta.iter()).take(n) {
                let filled = &buf[..m.len.min(buf.len())];
                for datagram in filled.chunks(m.stride.max(1)) {
                    if !maybe_dtls(datagram) {
                        continue;
                    }
                    let mut flights = self.flights();
                    if flights.hold_early(*m, datagram, now) {
                        self.holding.store(true, Ordering::Relaxed);
                    }
                    let resend = flights.received(m.addr, datagram, now);
                    drop(flights);
                    if !resend.is_empty() {
                        log::debug!(
                            "the DTLS peer repeated its flight: sending ours again ({} datagrams)",
                            resend.len()
                        );
                    }
                    for d in &resend {
                        self.send_copies(cx, m.addr, d, HANDSHAKE_COPIES);
                    }
                }
            }
        }
        received
    }
}

/// webrtc-rs's tokio runtime with `GuardedUdpSocket` under every UDP
/// socket it opens.
#[derive(Debug)]
pub struct HandshakeGuardRuntime {
    inner: TokioRuntime,
}

impl HandshakeGuardRuntime {
    pub fn new() -> Self {
        Self {
            inner: TokioRuntime,
        }
    }
}

impl Default for HandshakeGuardRuntime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime for HandshakeGuardRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        self.inner.spawn(future)
    }

    fn spawn_reactor(
        &self,
        reactor_pool_size: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        self.inner.spawn_reactor(reactor_pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        Ok(Arc::new(GuardedUdpSocket {
            inner: self.inner.wrap_udp_socket(socket)?,
            flights: Mutex::new(FlightMemory::default()),
            holding: AtomicBool::new(false),
            round_timer: Mutex::new(None),
        }))
    }

    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Arc<dyn AsyncTcpListener>> {
        self.inner.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        self.inner.connect_tcp(remote_addr)
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        self.inner.resolve_host(host)
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.inner.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        self.inner.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        self.inner.block_on(future)
    }

    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.inner.yield_now()
    }

    fn name(&self) -> &'static str {
        "tokio with DTLS flight guard"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One DTLS record: plaintext handshake messages carry their message
    /// sequence; epoch 1 stands for the encrypted Finished.
    fn record(content: u8, epoch: u16, message_seq: Option<u16>) -> Vec<u8> {
        let body: Vec<u8> = match message_seq {
            Some(seq) => {
                let mut h = vec![11, 0, 0, 4];
                h.extend_from_slice(&seq.to_be_bytes());
                h.extend_from_slice(&[0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
                h
            }
            None => vec![1; 40],
        };
        let mut r = vec![content, 0xfe, 0xfd];
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&[0, 0, 0, 0, 0, 7]);
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(&body);
        r
    }

    fn handshake(seq: u16) -> Vec<u8> {
        record(CONTENT_HANDSHAKE, 0, Some(seq))
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_repeated_peer_flight_gets_our_last_flight_again() {
        let janus = addr(5000);
        let t0 = Instant::now();
        let mut m = FlightMemory::default();
        // Janus's ClientHello (seq 0), our HelloVerifyRequest, its second
        // ClientHello (seq 1), our flight of three datagrams.
        assert!(m.received(janus, &handshake(0), t0).is_empty());
        assert!(m.sent(janus, &handshake(0)));
        assert!(m.received(janus, &handshake(1), t0).is_empty());
        let flight = [handshake(1), handshake(2), handshake(5)];
        for d in &flight {
            assert!(
                m.sent(janus, d),
                "handshake datagrams go out more than once"
            );
        }
        // Part of it was lost: Janus repeats its ClientHello.
        let again = m.received(janus, &handshake(1), t0 + Duration::from_millis(1000));
        let again: Vec<Vec<u8>> = again.iter().map(|b| b.to_vec()).collect();
        assert_eq!(again, flight, "the whole last flight, not the one before");
        // Its second copy a moment later is not answered twice...
        assert!(
            m.received(janus, &handshake(1), t0 + Duration::from_millis(1010))
                .is_empty()
        );
        // ...a later repeat is.
        assert_eq!(
            m.received(janus, &handshake(1), t0 + Duration::from_millis(3000))
                .len(),
            3
        );
        // Janus's next flight (Certificate .. Finished) moves on: nothing to
        // answer, and our next datagram starts a new flight.
        let mut next = handshake(2);
        next.extend_from_slice(&record(CONTENT_CHANGE_CIPHER_SPEC, 0, None));
        next.extend_from_slice(&record(CONTENT_HANDSHAKE, 1, None));
        assert!(
            m.received(janus, &next, t0 + Duration::from_millis(3100))
                .is_empty()
        );
        let mut last = record(CONTENT_CHANGE_CIPHER_SPEC, 0, None);
        last.extend_from_slice(&record(CONTENT_HANDSHAKE, 1, None));
        assert!(m.sent(janus, &last));
        // Janus did not get it and repeats its last flight.
        let again = m.received(janus, &next, t0 + Duration::from_millis(4200));
        assert_eq!(again, [Bytes::from(last)]);
    }

    fn meta_from(port: u16) -> RecvMeta {
        let mut meta = RecvMeta::default();
        meta.addr = addr(port);
        meta
    }

    /// What `next_redelivery` hands over at `now`, until it has nothing more.
    fn round(m: &mut FlightMemory, now: Instant) -> (Vec<Vec<u8>>, Redelivery) {
        let mut out = Vec::new();
        loop {
            match m.next_redelivery(now) {
                Redelivery::Now(d, meta) => {
                    assert_eq!((meta.len, meta.stride), (d.len(), d.len()));
                    out.push(d.to_vec());
                }
                other => return (out, other),
            }
        }
    }

    #[test]
    fn an_unanswered_first_flight_is_handed_over_in_rounds_until_we_answer() {
        let janus = 5000;
        let t0 = Instant::now();
        let mut m = FlightMemory::default();
        let hello = handshake(0);
        assert!(m.hold_early(meta_from(janus), &hello, t0));
        // It was just delivered: nothing again before the next round.
        let (now, next) = round(&mut m, t0);
        assert!(now.is_empty());
        assert!(matches!(next, Redelivery::At(at) if at == t0 + REDELIVER_EVERY));
        // Our ICE had no pair yet; every round hands it over again.
        for k in 1..=3u32 {
            let (again, next) = round(&mut m, t0 + REDELIVER_EVERY * k);
            assert_eq!(again, std::slice::from_ref(&hello), "round {k}");
            assert!(matches!(next, Redelivery::At(_)));
        }
        // A second datagram of the flight joins the next round.
        let second = handshake(1);
        assert!(m.hold_early(meta_from(janus), &second, t0 + Duration::from_millis(160)));
        let (again, _) = round(&mut m, t0 + Duration::from_millis(200));
        assert_eq!(again, [hello, second]);
        // webrtc-rs answers: nothing is held any more, nor will be.
        assert!(m.sent(addr(janus), &handshake(0)));
        let (again, next) = round(&mut m, t0 + Duration::from_secs(1));
        assert!(again.is_empty());
        assert!(matches!(next, Redelivery::Idle));
        assert!(!m.hold_early(meta_from(janus), &handshake(2), t0 + Duration::from_secs(1)));
    }

    #[test]
    fn a_held_flight_is_given_up_after_a_while_and_media_is_never_held() {
        let t0 = Instant::now();
        let mut m = FlightMemory::default();
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9];
        assert!(!m.hold_early(meta_from(1), &rtp, t0));
        assert!(!m.hold_early(meta_from(1), &record(23, 1, None), t0));
        assert!(matches!(m.next_redelivery(t0), Redelivery::Idle));
        assert!(m.hold_early(meta_from(1), &handshake(0), t0));
        assert!(m.hold_early(meta_from(2), &handshake(0), t0 + REDELIVER_EVERY));
        // The soonest round of either peer.
        let (_, next) = round(&mut m, t0 + Duration::from_millis(10));
        assert!(matches!(next, Redelivery::At(at) if at == t0 + REDELIVER_EVERY));
        let (late, next) = round(&mut m, t0 + REDELIVER_FOR);
        assert_eq!(late.len(), 1, "only the later peer's flight is still held");
        assert!(matches!(next, Redelivery::At(_)));
        let (none, next) = round(&mut m, t0 + REDELIVER_FOR * 2);
        assert!(none.is_empty());
        assert!(matches!(next, Redelivery::Idle));
        // A flight has a bound.
        let t1 = t0 + REDELIVER_FOR * 3;
        let held = (0..40)
            .filter(|i| m.hold_early(meta_from(3), &handshake(*i), t1))
            .count();
        assert_eq!(held, MAX_FLIGHT_DATAGRAMS);
    }

    /// `datagram` as DTLS sends it again: each record renumbered.
    fn renumbered(datagram: &[u8]) -> Vec<u8> {
        let mut out = datagram.to_vec();
        let mut at = 0;
        while at + RECORD_HEADER_LEN <= out.len() {
            out[at + 10] = out[at + 10].wrapping_add(9);
            at += RECORD_HEADER_LEN + usize::from(u16::from_be_bytes([out[at + 11], out[at + 12]]));
        }
        out
    }

    #[test]
    fn retransmissions_are_the_same_records_renumbered() {
        let mut two = handshake(1);
        two.extend_from_slice(&handshake(2));
        assert!(same_records(&two, &renumbered(&two)));
        assert!(same_records(&handshake(0), &renumbered(&handshake(0))));
        assert!(!same_records(&handshake(1), &handshake(2)));
        assert!(!same_records(&two, &handshake(1)));
        let mut changed = renumbered(&two);
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(!same_records(&two, &changed));
        // An encrypted Finished is encrypted anew each time it is sent.
        let finished = record(CONTENT_HANDSHAKE, 1, None);
        let mut again = renumbered(&finished);
        let last = again.len() - 1;
        again[last] ^= 0x5a;
        assert!(same_records(&finished, &again));
        // Our flight, sent again by webrtc-rs a second later: remembered
        // once, so a repeat from Janus gets it once (three copies each).
        let janus = addr(5000);
        let mut m = FlightMemory::default();
        let now = Instant::now();
        m.received(janus, &handshake(0), now);
        let flight = [handshake(1), handshake(2)];
        for d in &flight {
            m.sent(janus, d);
        }
        for d in &flight {
            m.sent(janus, &renumbered(d));
        }
        assert_eq!(
            m.received(janus, &handshake(0), now + Duration::from_secs(2))
                .len(),
            2
        );
        // Janus's ClientHello, repeated while nothing answered: held once.
        let mut early = FlightMemory::default();
        assert!(early.hold_early(meta_from(1), &handshake(0), now));
        assert!(!early.hold_early(meta_from(1), &renumbered(&handshake(0)), now));
    }

    #[test]
    fn media_and_application_data_pass_untouched() {
        let janus = addr(5000);
        let mut m = FlightMemory::default();
        let now = Instant::now();
        let rtp = [0x80u8, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9];
        let stun = [0u8, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42];
        let app_data = record(23, 1, None);
        let alert = record(21, 1, None);
        for d in [&rtp[..], &stun[..], &app_data, &alert] {
            assert!(!m.sent(janus, d));
            assert!(m.received(janus, d, now).is_empty());
        }
        assert!(m.peers.is_empty(), "no state for what is not a handshake");
    }

    #[test]
    fn peers_are_kept_apart_and_bounded() {
        let mut m = FlightMemory::default();
        let now = Instant::now();
        m.received(addr(1), &handshake(0), now);
        m.sent(addr(1), &handshake(0));
        m.received(addr(2), &handshake(0), now);
        // Peer 2 never had a flight of ours: a repeat asks for nothing.
        assert!(m.received(addr(2), &handshake(0), now).is_empty());
        assert_eq!(m.received(addr(1), &handshake(0), now).len(), 1);
        for port in 10..30 {
            m.received(addr(port), &handshake(0), now);
        }
        assert_eq!(m.peers.len(), MAX_PEERS);
    }

    #[test]
    fn malformed_records_never_panic() {
        let mut m = FlightMemory::default();
        let now = Instant::now();
        let mut seed = 11u32;
        for i in 0..20_000u32 {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let len = (seed >> 20) as usize % 64;
            let mut d: Vec<u8> = (0..len).map(|j| (seed >> (j % 24)) as u8).collect();
            if let Some(first) = d.first_mut() {
                *first = 20 + (*first % 4);
            }
            m.hold_early(meta_from((i % 3) as u16), &d, now);
            let _ = m.next_redelivery(now);
            m.sent(addr((i % 3) as u16), &d);
            m.received(addr((i % 3) as u16), &d, now);
        }
        // A record that claims more than the datagram holds is not read.
        let mut short = handshake(3);
        short.truncate(RECORD_HEADER_LEN + 4);
        assert_eq!(classify(&short), Handshake::None);
    }
}
