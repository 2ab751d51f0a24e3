//! A real Ixian DLT node as the link's [`NodeSource`], through its localhost HTTP API.
//!
//! - `getSigningChallenge` gives the challenge: `Item1` the base64 prefix (null while the node
//!   does not mine), `Item2` the minimum difficulty (an IxiNumber object `{"amount": raw}`, or a
//!   bare number or decimal string in units), `Item3` the block height. Raw amounts are read as
//!   exact big integers from the JSON text (they can exceed 2^64).
//! - `submitSigningSolution?blockHeight=&solution=` always answers `result: null`, so the
//!   outcome is read back from `status?vv`: the solution is taken when "Signer Last PoW
//!   Solution" or "Signer Active PoW Solution" shows this block and nonce.
//! - Any node error (HTTP error status, error object, timeout, refused connection) makes the
//!   node [`IdleReason::Unreachable`]; nothing panics and the next poll tries again.

use std::collections::HashMap;
use std::str::FromStr as _;
use std::time::Duration;

use base64::Engine as _;
use ixi_formats::number::IxiNumber;
use ixi_link_proto::{IdleReason, RejectReason};
use num_bigint::BigInt;
use serde_json::value::RawValue;

use crate::source::{Challenge, ForwardOutcome, NodeSource, NodeState};
use ixi_node_api::http::{Credentials, DEFAULT_BODY_LIMIT, HttpError, encode_query_value};
use ixi_node_api::{ClientConfig, FieldError, NodeClient};

/// The node API's default address.
pub use ixi_node_api::DEFAULT_NODE_URL;

/// Why an answer of the node could not be used: the node API client's error.
pub use ixi_node_api::ApiError as GatewayError;

/// How the gateway reaches the node.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// The API's address.
    pub url: String,
    /// Basic-auth user and password.
    pub credentials: Option<Credentials>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How often to poll the challenge.
    pub poll_interval: Duration,
    /// Status reads after a submission before concluding the node did not take it.
    pub confirm_attempts: u32,
    /// Wait between those reads.
    pub confirm_wait: Duration,
}

impl GatewayConfig {
    /// Defaults for the node at `url`: the API client's ([`ClientConfig::new`]), and the
    /// gateway's own.
    #[must_use]
    pub fn new(url: &str) -> Self {
        let ClientConfig {
            url,
            credentials,
            timeout,
        } = ClientConfig::new(url);
        Self {
            url,
            credentials,
            timeout,
            poll_interval: Duration::from_secs(1),
            confirm_attempts: 3,
            confirm_wait: Duration::from_millis(300),
        }
    }
}

/// The HTTP gateway.
#[derive(Debug)]
pub struct Gateway {
    client: NodeClient,
    config: GatewayConfig,
}

impl Gateway {
    /// A gateway to the node at `config.url`.
    ///
    /// # Errors
    /// [`HttpError::Url`] for an address that is not `http://host[:port][/path]`.
    pub fn new(config: GatewayConfig) -> Result<Self, HttpError> {
        let client = NodeClient::new(&ClientConfig {
            url: config.url.clone(),
            credentials: config.credentials.clone(),
            timeout: config.timeout,
        })?;
        Ok(Self { client, config })
    }

    /// The API client this gateway uses (shared with the shadow verifier).
    #[must_use]
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    async fn call(&self, method: &'static str, query: &str) -> Result<String, GatewayError> {
        self.client.call(method, query, DEFAULT_BODY_LIMIT).await
    }

    /// The current challenge, or `None` while the node does not mine.
    ///
    /// # Errors
    /// [`GatewayError`].
    pub async fn challenge(&self) -> Result<Option<Challenge>, GatewayError> {
        const METHOD: &str = "getSigningChallenge";
        let result = self.call(METHOD, "").await?;
        parse_challenge(&result).map_err(|what| GatewayError::Shape {
            method: METHOD,
            block: None,
            source: FieldError::new("result", what),
        })
    }

    /// Whether the node is still synchronizing (from `status`'s "DLT Status").
    async fn syncing(&self) -> bool {
        self.call("status", "")
            .await
            .ok()
            .and_then(|r| serde_json::from_str::<serde_json::Value>(&r).ok())
            .and_then(|v| v.get("DLT Status")?.as_str().map(str::to_owned))
            .is_some_and(|s| s != "Active")
    }

    /// Whether `status?vv` shows this nonce as the signer's solution for `block_height`.
    ///
    /// # Errors
    /// [`GatewayError`].
    pub async fn shows_solution(
        &self,
        block_height: u64,
        nonce_base64: &str,
    ) -> Result<bool, GatewayError> {
        let result = self.call("status", "vv=1").await?;
        status_shows_solution(&result, block_height, nonce_base64).map_err(|e| {
            GatewayError::Shape {
                method: "status",
                block: None,
                source: FieldError::new("result", e),
            }
        })
    }
}

/// Whether a `status?vv` result shows this nonce (base64) as the signer's solution for
/// `block_height`, in "Signer Last PoW Solution" or "Signer Active PoW Solution".
///
/// # Errors
/// The result is not JSON.
pub fn status_shows_solution(
    result: &str,
    block_height: u64,
    nonce_base64: &str,
) -> Result<bool, String> {
    let status: serde_json::Value = serde_json::from_str(result).map_err(|e| e.to_string())?;
    Ok(["Signer Last PoW Solution", "Signer Active PoW Solution"]
        .iter()
        .filter_map(|k| status.get(*k))
        .any(|s| {
            s.get("blockNum").and_then(json_u64) == Some(block_height)
                && s.get("solution").and_then(serde_json::Value::as_str) == Some(nonce_base64)
        }))
}

impl NodeSource for Gateway {
    type Error = GatewayError;

    async fn poll(&self) -> NodeState {
        match self.challenge().await {
            Ok(Some(challenge)) => NodeState::Mining(challenge),
            Ok(None) if self.syncing().await => NodeState::Idle {
                reason: IdleReason::Syncing,
                detail: "the node is catching up with the network".to_owned(),
            },
            Ok(None) => NodeState::Idle {
                reason: IdleReason::Cooldown,
                detail: "the node is not mining now (between its mining windows)".to_owned(),
            },
            Err(e) => NodeState::Idle {
                reason: IdleReason::Unreachable,
                detail: e.to_string(),
            },
        }
    }

    async fn forward(
        &self,
        block_height: u64,
        nonce: &[u8],
        _: &IxiNumber,
    ) -> ForwardOutcome<GatewayError> {
        let nonce_base64 = base64::engine::general_purpose::STANDARD.encode(nonce);
        let query = format!(
            "blockHeight={block_height}&solution={}",
            encode_query_value(&nonce_base64)
        );
        if let Err(e) = self.call("submitSigningSolution", &query).await {
            return ForwardOutcome::Failed(e);
        }
        for attempt in 0..self.config.confirm_attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(self.config.confirm_wait).await;
            }
            match self.shows_solution(block_height, &nonce_base64).await {
                Ok(true) => return ForwardOutcome::Taken,
                Ok(false) => {}
                Err(e) => return ForwardOutcome::Failed(e),
            }
        }
        ForwardOutcome::Rejected(RejectReason::NotTaken)
    }

    fn poll_interval(&self) -> Duration {
        self.config.poll_interval
    }
}

fn json_u64(v: &serde_json::Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// Parses `getSigningChallenge`'s `result` (raw JSON text).
///
/// # Errors
/// What is wrong, for the operator.
pub fn parse_challenge(result: &str) -> Result<Option<Challenge>, String> {
    let fields: HashMap<String, Box<RawValue>> =
        serde_json::from_str(result).map_err(|e| format!("result is not an object: {e}"))?;
    let field = |name: &str| fields.get(name).map(|v| v.get().trim());
    let prefix = match field("Item1") {
        None | Some("null") => return Ok(None),
        Some(raw) => serde_json::from_str::<String>(raw)
            .map_err(|_| "Item1 is not a base64 string".to_owned())
            .and_then(|s| {
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|e| format!("Item1 is not base64: {e}"))
            })?,
    };
    if prefix.is_empty() {
        return Ok(None);
    }
    let min_difficulty = parse_difficulty(field("Item2").ok_or("Item2 is missing")?)?;
    let height_raw = field("Item3").ok_or("Item3 is missing")?;
    let block_height = serde_json::from_str::<serde_json::Value>(height_raw)
        .ok()
        .as_ref()
        .and_then(json_u64)
        .ok_or_else(|| format!("Item3 is not a block height: {height_raw}"))?;
    Ok(Some(Challenge {
        block_height,
        prefix,
        min_difficulty,
    }))
}

/// `Item2`: `{"amount": raw}` (raw an integer, or its decimal string), or a bare number or
/// decimal string in whole units.
fn parse_difficulty(raw: &str) -> Result<IxiNumber, String> {
    let bad = || format!("Item2 is not a difficulty: {raw}");
    if raw.starts_with('{') {
        let fields: HashMap<String, Box<RawValue>> =
            serde_json::from_str(raw).map_err(|_| bad())?;
        let amount = fields.get("amount").ok_or_else(bad)?.get().trim();
        let digits = amount.trim_matches('"');
        if digits.is_empty()
            || !digits
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        return BigInt::from_str(digits)
            .map(IxiNumber::from_raw)
            .map_err(|_| bad());
    }
    let text = raw.trim_matches('"');
    IxiNumber::from_str(text).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    // Test code: a failed expectation is a panic by design.
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn challenge_shapes() {
        let c = parse_challenge(
            r#"{"Item1":"AQID","Item2":{"amount":123456789012345678901234567890},"Item3":42}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.prefix, vec![1, 2, 3]);
        assert_eq!(c.block_height, 42);
        assert_eq!(
            c.min_difficulty.raw().to_string(),
            "123456789012345678901234567890"
        );
        let c = parse_challenge(r#"{"Item1":"AQID","Item2":"10000000.5","Item3":"7"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(c.min_difficulty.to_string(), "10000000.50000000");
        assert_eq!(c.block_height, 7);
        let c = parse_challenge(r#"{"Item1":"AQID","Item2":10000000,"Item3":7}"#)
            .unwrap()
            .unwrap();
        assert_eq!(c.min_difficulty, IxiNumber::from_whole(10_000_000));
        assert_eq!(
            parse_challenge(r#"{"Item1":null,"Item2":{"amount":0},"Item3":0}"#).unwrap(),
            None
        );
        for bad in [
            r#"{"Item1":"!!","Item2":1,"Item3":1}"#,
            r#"{"Item1":"AQID","Item2":{"amount":1.5},"Item3":1}"#,
            r#"{"Item1":"AQID","Item2":{},"Item3":1}"#,
            r#"{"Item1":"AQID","Item2":1,"Item3":-1}"#,
            r#"{"Item1":"AQID","Item3":1}"#,
            r#"[1,2]"#,
        ] {
            assert!(parse_challenge(bad).is_err(), "{bad}");
        }
    }
}
