//! The node's API calls: the JSON-RPC envelope (`{"result", "error", "id"}`), errors that name
//! the method and, for blocks, the block, and one bounded request per call.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::value::RawValue;

use crate::http::{Credentials, DEFAULT_BODY_LIMIT, HttpError, HttpTarget, encode_query_value};
use crate::model::{self, Block, FieldError, Wallet};

/// The node API's default address.
pub const DEFAULT_NODE_URL: &str = "http://localhost:8081";

/// Body limit of `getfullblock`. A block of 1000 signatures is about 1.5 MB of JSON (each
/// element carries a 272-byte key, a 256-byte signature and a solution, base64 inside a
/// JSON string); a block with ten thousand RSA-4096 transactions (1 KiB of hex signature and
/// up to 720 characters of base58 key each) adds about 30 MB. 64 MiB holds both with room,
/// and refuses a runaway answer long before it hurts.
pub const FULL_BLOCK_LIMIT: usize = 64 << 20;

/// Why a call did not give a usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request failed (connection, timeout, a body over the limit, not HTTP).
    #[error("{method}: {source}")]
    Http {
        /// The API method.
        method: &'static str,
        /// Why.
        #[source]
        source: HttpError,
    },
    /// The node answered with an error.
    #[error("node error (HTTP {status}) from {method}: {message}")]
    Node {
        /// The API method.
        method: &'static str,
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// The answer does not have the documented shape.
    #[error("unexpected answer from {method}{}: {source}", block.map(|b| format!(" for block {b}")).unwrap_or_default())]
    Shape {
        /// The API method.
        method: &'static str,
        /// The block asked for, if any.
        block: Option<u64>,
        /// The field and what is wrong with it.
        #[source]
        source: FieldError,
    },
}

impl ApiError {
    /// Whether the node said the block (or object) does not exist ("Block not found.").
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Node { message, .. } if message.to_ascii_lowercase().contains("not found"))
    }

    /// Whether asking again later may help: transport failures and node-side errors other than
    /// "not found". A malformed answer or an oversized body is not retried.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Http { source, .. } => !matches!(
                source,
                HttpError::TooLarge { .. } | HttpError::Url(_) | HttpError::Malformed(_)
            ),
            Self::Node { .. } => !self.is_not_found(),
            Self::Shape { .. } => false,
        }
    }
}

/// How to reach the node.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The API's address, `http://host[:port][/path]`.
    pub url: String,
    /// Basic-auth user and password.
    pub credentials: Option<Credentials>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl ClientConfig {
    /// Defaults for the node at `url` (5 s per request).
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            credentials: None,
            timeout: Duration::from_secs(5),
        }
    }
}

/// A client of one node's API.
#[derive(Debug, Clone)]
pub struct NodeClient {
    target: HttpTarget,
}

impl NodeClient {
    /// A client for `config.url`.
    ///
    /// # Errors
    /// [`HttpError::Url`] for an address that is not `http://host[:port][/path]`.
    pub fn new(config: &ClientConfig) -> Result<Self, HttpError> {
        let mut target = HttpTarget::parse(&config.url, config.timeout)?;
        if let Some(credentials) = &config.credentials {
            target = target.with_basic_auth(credentials);
        }
        Ok(Self { target })
    }

    /// `result` of a call, as raw JSON text (`null` when absent); node errors as
    /// [`ApiError::Node`].
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn call(
        &self,
        method: &'static str,
        query: &str,
        limit: usize,
    ) -> Result<String, ApiError> {
        let response = self
            .target
            .get(method, query, limit)
            .await
            .map_err(|source| ApiError::Http { method, source })?;
        let body = String::from_utf8_lossy(&response.body);
        let envelope: Option<HashMap<String, Box<RawValue>>> = serde_json::from_str(&body).ok();
        let error = envelope
            .as_ref()
            .and_then(|e| e.get("error"))
            .map(|e| e.get().trim())
            .filter(|e| *e != "null");
        if response.status != 200 || error.is_some() {
            let message = error.map_or_else(|| truncate(&body), error_message);
            return Err(ApiError::Node {
                method,
                status: response.status,
                message,
            });
        }
        let envelope = envelope.ok_or_else(|| ApiError::Shape {
            method,
            block: None,
            source: FieldError::new("", "the answer is not a JSON object"),
        })?;
        Ok(envelope
            .get("result")
            .map_or_else(|| "null".to_owned(), |r| r.get().to_owned()))
    }

    /// `result` of a call, parsed as JSON.
    /// `result` of a call, parsed as JSON: the body parsed once (a full block is megabytes),
    /// node errors as in [`NodeClient::call`].
    async fn call_value(
        &self,
        method: &'static str,
        query: &str,
        limit: usize,
        block: Option<u64>,
    ) -> Result<serde_json::Value, ApiError> {
        let response = self
            .target
            .get(method, query, limit)
            .await
            .map_err(|source| ApiError::Http { method, source })?;
        let parsed: Option<serde_json::Value> = serde_json::from_slice(&response.body).ok();
        let mut envelope = match parsed {
            Some(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        };
        let error = envelope
            .as_ref()
            .and_then(|e| e.get("error"))
            .filter(|e| !e.is_null())
            .map(serde_json::Value::to_string);
        if response.status != 200 || error.is_some() {
            let message = error.map_or_else(
                || truncate(&String::from_utf8_lossy(&response.body)),
                |e| error_message(&e),
            );
            return Err(ApiError::Node {
                method,
                status: response.status,
                message,
            });
        }
        let envelope = envelope.as_mut().ok_or_else(|| ApiError::Shape {
            method,
            block,
            source: FieldError::new("", "the answer is not a JSON object"),
        })?;
        Ok(envelope.remove("result").unwrap_or(serde_json::Value::Null))
    }

    /// `getblockcount`: the node's highest block.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn block_count(&self) -> Result<u64, ApiError> {
        const METHOD: &str = "getblockcount";
        let v = self
            .call_value(METHOD, "", DEFAULT_BODY_LIMIT, None)
            .await?;
        model::as_u64(&v).ok_or_else(|| ApiError::Shape {
            method: METHOD,
            block: None,
            source: FieldError::new("result", format!("not a block height: {v}")),
        })
    }

    /// `getblock?num=N`: the block without its transactions.
    ///
    /// # Errors
    /// [`ApiError`]; "Block not found." is an [`ApiError::Node`] with
    /// [`ApiError::is_not_found`].
    pub async fn block(&self, num: u64) -> Result<Block, ApiError> {
        self.get_block("getblock", num, DEFAULT_BODY_LIMIT).await
    }

    /// `getfullblock?num=N`: the block with its transactions, at most [`FULL_BLOCK_LIMIT`].
    ///
    /// # Errors
    /// As [`NodeClient::block`].
    pub async fn full_block(&self, num: u64) -> Result<Block, ApiError> {
        self.get_block("getfullblock", num, FULL_BLOCK_LIMIT).await
    }

    async fn get_block(
        &self,
        method: &'static str,
        num: u64,
        limit: usize,
    ) -> Result<Block, ApiError> {
        let v = self
            .call_value(method, &format!("num={num}"), limit, Some(num))
            .await?;
        let block = Block::from_json(&v).map_err(|source| ApiError::Shape {
            method,
            block: Some(num),
            source,
        })?;
        if block.number != num {
            return Err(ApiError::Shape {
                method,
                block: Some(num),
                source: FieldError::new(
                    "Block Number",
                    format!("asked for {num}, got {}", block.number),
                ),
            });
        }
        Ok(block)
    }

    /// `getwallet?id=<base58 address>`.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn wallet(&self, address: &str) -> Result<Wallet, ApiError> {
        const METHOD: &str = "getwallet";
        let v = self
            .call_value(
                METHOD,
                &format!("id={}", encode_query_value(address)),
                DEFAULT_BODY_LIMIT,
                None,
            )
            .await?;
        Wallet::from_json(&v).map_err(|source| ApiError::Shape {
            method: METHOD,
            block: None,
            source,
        })
    }

    /// `verify?publicKey=&signature=&hash=`: the node's own SHA-512-with-RSA verdict over
    /// `data`.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn verify(
        &self,
        public_key: &[u8],
        signature: &[u8],
        data: &[u8],
    ) -> Result<bool, ApiError> {
        const METHOD: &str = "verify";
        let query = format!(
            "publicKey={}&signature={}&hash={}",
            hex::encode(public_key),
            hex::encode(signature),
            hex::encode(data)
        );
        let v = self
            .call_value(METHOD, &query, DEFAULT_BODY_LIMIT, None)
            .await?;
        model::as_bool(&v).ok_or_else(|| ApiError::Shape {
            method: METHOD,
            block: None,
            source: FieldError::new("result", format!("not a verdict: {v}")),
        })
    }
}

fn truncate(body: &str) -> String {
    let body = body.trim();
    if body.len() <= 200 {
        body.to_owned()
    } else {
        let mut end = 200;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &body[..end])
    }
}

/// The `message` of a JSON-RPC error object, or the error text itself.
fn error_message(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| match v {
            serde_json::Value::String(s) => Some(s),
            v => v.get("message")?.as_str().map(str::to_owned),
        })
        .unwrap_or_else(|| truncate(raw))
}
