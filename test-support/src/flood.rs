//! A flood of QUIC handshakes that are never finished: each attempt is a real client Initial
//! (a TLS ClientHello, made by `quinn-proto` with a throwaway identity) and nothing after it.
//! No key the link knows is needed to send one, so this is what any host can do to a link.
//!
//! With `answer_retry`, a stateless Retry from the link is answered (the Initial sent again
//! with its token), so the attempt counts as coming from a validated address; the handshake
//! still never finishes. Nothing else the link sends is read.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ixi_link_transport::tls::{self, SERVER_NAME};
use ixi_link_transport::{Identity, Pin};
use quinn_proto::{ClientConfig, ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig};

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct FloodConfig {
    /// The link.
    pub target: SocketAddr,
    /// The link's pin (any pin will do: the handshake never gets as far as checking it).
    pub link_pin: Pin,
    /// Handshakes to start.
    pub handshakes: usize,
    /// Source ports they come from, round robin.
    pub sockets: usize,
    /// Handshakes started per second.
    pub rate: f64,
    /// Answer the link's Retry packets (a validated address).
    pub answer_retry: bool,
}

/// What was sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FloodReport {
    /// Handshakes started.
    pub started: usize,
    /// Datagrams sent (Initials, and Initials again after a Retry).
    pub datagrams: usize,
    /// Retry packets received (and answered, with `answer_retry`).
    pub retries: usize,
}

struct Source {
    socket: UdpSocket,
    endpoint: Endpoint,
    connections: HashMap<ConnectionHandle, quinn_proto::Connection>,
}

/// A QUIC v1 long-header Retry packet: header form and fixed bit set, packet type 3.
fn is_retry(datagram: &[u8]) -> bool {
    datagram.first().is_some_and(|b| b & 0xf0 == 0xf0)
}

/// Sends the flood from this thread (blocking); returns when every handshake is started.
///
/// # Panics
/// When a socket cannot be bound or the client configuration cannot be built.
#[must_use]
pub fn flood(config: &FloodConfig) -> FloodReport {
    let identity = Identity::generate("flood").expect("a throwaway identity");
    let client: ClientConfig =
        tls::client_config(&identity, config.link_pin).expect("a client config");
    let mut sources: Vec<Source> = (0..config.sockets.max(1))
        .map(|_| {
            let socket = UdpSocket::bind("127.0.0.1:0").expect("a source port");
            socket.set_nonblocking(true).expect("a non-blocking socket");
            Source {
                socket,
                endpoint: Endpoint::new(Arc::new(EndpointConfig::default()), None, false, None),
                connections: HashMap::new(),
            }
        })
        .collect();
    let mut report = FloodReport::default();
    let mut buf = Vec::with_capacity(2048);
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / config.rate.max(1.0));
    for k in 0..config.handshakes {
        // Paced: the k-th handshake starts no earlier than k intervals in.
        if let Some(wait) =
            (interval * u32::try_from(k).unwrap_or(u32::MAX)).checked_sub(start.elapsed())
        {
            std::thread::sleep(wait);
        }
        let now = Instant::now();
        let count = sources.len();
        let s = &mut sources[k % count];
        let Ok((handle, mut connection)) =
            s.endpoint
                .connect(now, client.clone(), config.target, SERVER_NAME)
        else {
            continue;
        };
        report.started += 1;
        buf.clear();
        while let Some(t) = connection.poll_transmit(now, 1, &mut buf) {
            if s.socket.send_to(&buf[..t.size], t.destination).is_ok() {
                report.datagrams += 1;
            }
            buf.clear();
        }
        if config.answer_retry {
            s.connections.insert(handle, connection);
        }
        drain(&mut sources, config.answer_retry, &mut report);
    }
    // Retries still on their way.
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        drain(&mut sources, config.answer_retry, &mut report);
        std::thread::sleep(Duration::from_millis(10));
    }
    report
}

/// Reads what arrived: Retry packets are counted, and answered with `answer_retry`; the rest
/// is dropped unread, so no handshake ever finishes.
fn drain(sources: &mut [Source], answer_retry: bool, report: &mut FloodReport) {
    let mut incoming = [0u8; 2048];
    let mut buf = Vec::with_capacity(2048);
    for s in sources {
        while let Ok((n, from)) = s.socket.recv_from(&mut incoming) {
            if !is_retry(&incoming[..n]) {
                continue;
            }
            report.retries += 1;
            if !answer_retry {
                continue;
            }
            let now = Instant::now();
            let event = s.endpoint.handle(
                now,
                from,
                None,
                None,
                BytesMut::from(&incoming[..n]),
                &mut buf,
            );
            if let Some(DatagramEvent::ConnectionEvent(handle, event)) = event
                && let Some(connection) = s.connections.get_mut(&handle)
            {
                connection.handle_event(event);
                buf.clear();
                while let Some(t) = connection.poll_transmit(now, 1, &mut buf) {
                    if s.socket.send_to(&buf[..t.size], t.destination).is_ok() {
                        report.datagrams += 1;
                    }
                    buf.clear();
                }
            }
        }
    }
}
