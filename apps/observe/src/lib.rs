//! `ixi-observe`: the read-only HTTP endpoint every `ixi-accel` process can serve
//! (`--http-listen ADDR`), and what a signer difficulty is worth.
//!
//! - [`http`]: the endpoint: `/metrics` (the Prometheus text format, version 0.0.4),
//!   `/v1/status` (JSON), and on the link `/v1/history` and `/` (the dashboard: one
//!   self-contained page, nothing loaded from elsewhere). Read-only: every route is a `GET` of
//!   a snapshot.
//! - [`metrics`]: metrics are not kept in this crate's registers as they happen; each scrape
//!   maps the snapshots the processes already keep (the link core's
//!   `LinkStats`, the shadow verifier's counters, the workers' `MinerStatus` and
//!   `VerifierStatus`) to metric families (a prometheus-client `Collector`). The engines and
//!   the link server know nothing of Prometheus or HTTP.
//! - [`windows`]: rates over 10 s, 60 s and 15 min from counters sampled each second.
//! - [`worker`]: a miner's and a verifier's metrics and status.
//! - `link` (feature `link`): the link's metrics, status, history (the last hour, in bounded
//!   rings) and the node's block totals for the reward estimate.
//! - [`reward`]: the signing reward by height, a difficulty's share of a block, and the best
//!   difficulty expected from a number of attempts.

pub mod http;
#[cfg(feature = "link")]
pub mod link;
pub mod metrics;
pub mod reward;
pub mod windows;
pub mod worker;

use std::net::SocketAddr;

/// The link's default endpoint address (loopback: the endpoint is for the operator's own
/// scraper and browser; put a reverse proxy in front to publish it).
pub const DEFAULT_LINK_HTTP: &str = "127.0.0.1:7462";

/// `--http-listen`: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpListen(pub Option<SocketAddr>);

impl std::str::FromStr for HttpListen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_http_listen(s)
    }
}

impl std::fmt::Display for HttpListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => write!(f, "{addr}"),
            None => f.write_str("off"),
        }
    }
}

/// Parses `--http-listen`: `host:port` (an IP address and a port; port 0 picks a free one) or
/// `off`.
///
/// # Errors
/// A sentence naming the value, for the command line's error.
pub fn parse_http_listen(s: &str) -> Result<HttpListen, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("off") {
        return Ok(HttpListen(None));
    }
    s.parse().map(|a| HttpListen(Some(a))).map_err(|_| {
        let shown: String = s.chars().take(60).collect();
        format!("{shown:?}: an address is IP:PORT (e.g. 127.0.0.1:7462), or off")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_listen_takes_an_address_or_off() {
        assert_eq!(parse_http_listen("off"), Ok(HttpListen(None)));
        assert_eq!(parse_http_listen(" OFF "), Ok(HttpListen(None)));
        let addr = parse_http_listen(DEFAULT_LINK_HTTP).unwrap_or(HttpListen(None));
        assert_eq!(addr.to_string(), DEFAULT_LINK_HTTP);
        assert_eq!(HttpListen(None).to_string(), "off");
        for bad in ["", "localhost:7462", "127.0.0.1", "7462", "on"] {
            assert!(parse_http_listen(bad).is_err(), "{bad}");
        }
    }
}
