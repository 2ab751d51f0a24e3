//! Sends QUIC handshakes that are never finished to a link, for measuring what a flood of them
//! costs the link (run it against `ixi-link serve`, watch the link's RSS and log).
//!
//! `handshake_flood ADDR LINK_PIN [HANDSHAKES=26000] [RATE_PER_S=2000] [SOCKETS=64] [retry]`
//! (`retry`: answer the link's Retry packets, as a host with a real address can).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use ixi_link_transport::Pin;
use ixi_test_support::flood::{FloodConfig, flood};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: handshake_flood ADDR LINK_PIN [HANDSHAKES] [RATE_PER_S] [SOCKETS] [retry]";
    let (Some(target), Some(pin)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let number = |i: usize, default: usize| -> usize {
        args.get(i)
            .filter(|a| *a != "retry")
            .map_or(default, |a| a.parse().expect(usage))
    };
    let config = FloodConfig {
        target: target.parse().expect("ADDR as ip:port"),
        link_pin: pin
            .parse::<Pin>()
            .expect("LINK_PIN as `ixi-link` prints it"),
        handshakes: number(2, 26_000),
        rate: f64::from(u32::try_from(number(3, 2000)).expect(usage)),
        sockets: number(4, 64),
        answer_retry: args.iter().any(|a| a == "retry"),
    };
    let started = std::time::Instant::now();
    let report = flood(&config);
    println!(
        "started {} handshakes ({} datagrams, {} retries received) in {:.1} s",
        report.started,
        report.datagrams,
        report.retries,
        started.elapsed().as_secs_f64()
    );
}
