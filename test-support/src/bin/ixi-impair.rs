//! `ixi-impair`: a relay that impairs what it carries, for `scripts/faults.sh` where the
//! kernel has no `netem` qdisc.
//!
//! ```text
//! ixi-impair udp --listen ADDR --to ADDR [--loss P] [--delay-ms D] [--jitter-ms J]
//! ixi-impair tcp --listen ADDR --to ADDR [--delay-ms D]
//! ```
//!
//! UDP: each datagram, either way, is dropped with probability P, else sent after D plus a
//! uniform 0..J milliseconds, so datagrams overtake each other (reordering). One upstream
//! socket per client address, as a NAT would. TCP: every chunk, either way, is held D
//! milliseconds (TCP keeps the order; its losses are the kernel's to recover).

// A test tool: a failed set-up is a panic with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

#[derive(Clone, Copy)]
struct Impairment {
    loss: f64,
    delay: Duration,
    jitter: Duration,
}

impl Impairment {
    /// `None`: drop it; else how long to hold it.
    fn hold(&self) -> Option<Duration> {
        let mut rng = rand::rng();
        if rng.random_bool(self.loss.clamp(0.0, 1.0)) {
            return None;
        }
        let extra = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            self.jitter.mul_f64(rng.random_range(0.0..1.0))
        };
        Some(self.delay + extra)
    }
}

/// Sends `datagram` on `socket` (to `to`, or connected) once its hold time has passed.
fn later(socket: Arc<UdpSocket>, datagram: Vec<u8>, to: Option<SocketAddr>, hold: Duration) {
    tokio::spawn(async move {
        tokio::time::sleep(hold).await;
        let _ = match to {
            Some(to) => socket.send_to(&datagram, to).await,
            None => socket.send(&datagram).await,
        };
    });
}

async fn udp(listen: SocketAddr, to: SocketAddr, impairment: Impairment) {
    let front = Arc::new(UdpSocket::bind(listen).await.unwrap());
    let mut upstream: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, client)) = front.recv_from(&mut buf).await else {
            continue;
        };
        let back = match upstream.get(&client) {
            Some(s) => Arc::clone(s),
            None => {
                let local: SocketAddr = if to.is_ipv4() {
                    "0.0.0.0:0".parse().unwrap()
                } else {
                    "[::]:0".parse().unwrap()
                };
                let s = Arc::new(UdpSocket::bind(local).await.unwrap());
                s.connect(to).await.unwrap();
                // Answers from the server go back to this client.
                let (reply, front) = (Arc::clone(&s), Arc::clone(&front));
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = reply.recv(&mut buf).await {
                        if let Some(hold) = impairment.hold() {
                            later(Arc::clone(&front), buf[..n].to_vec(), Some(client), hold);
                        }
                    }
                });
                upstream.insert(client, Arc::clone(&s));
                s
            }
        };
        if let Some(hold) = impairment.hold() {
            later(back, buf[..n].to_vec(), None, hold);
        }
    }
}

/// Copies `from` to `to`, each chunk held `delay` (in order: one chunk at a time in a queue).
async fn delayed_copy(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if tx
            .send((tokio::time::Instant::now() + delay, buf[..n].to_vec()))
            .is_err()
        {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

async fn tcp(listen: SocketAddr, to: SocketAddr, delay: Duration) {
    let listener = TcpListener::bind(listen).await.unwrap();
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(to).await else {
                return;
            };
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::join!(
                delayed_copy(client_read, server_write, delay),
                delayed_copy(server_read, client_write, delay),
            );
        });
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| ixi_test_support::cli::flag_value(&args, name);
    let addr = |name: &str| -> SocketAddr {
        value(name)
            .unwrap_or_else(|| panic!("{name} ADDR is required"))
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let millis = |name: &str| {
        Duration::from_millis(value(name).map_or(0, |v| v.parse().expect("milliseconds")))
    };
    let (listen, to) = (addr("--listen"), addr("--to"));
    match args.first().map(String::as_str) {
        Some("udp") => {
            let impairment = Impairment {
                loss: value("--loss").map_or(0.0, |v| v.parse().expect("a probability")),
                delay: millis("--delay-ms"),
                jitter: millis("--jitter-ms"),
            };
            udp(listen, to, impairment).await;
        }
        Some("tcp") => tcp(listen, to, millis("--delay-ms")).await,
        _ => panic!("usage: ixi-impair udp|tcp --listen ADDR --to ADDR [...]"),
    }
}
