//! The simulated node's HTTP API.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::chain::{SimChain, SimConfig, node_verify};

/// Why the simulated node cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimNodeError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running simulated node: the chain and its HTTP server.
pub struct SimNode {
    chain: Arc<SimChain>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl SimNode {
    /// Starts the chain and serves its API on `listen` (port 0: any free port).
    ///
    /// # Errors
    /// [`SimNodeError::Bind`].
    pub async fn start(config: SimConfig, listen: SocketAddr) -> Result<Self, SimNodeError> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| SimNodeError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimNodeError::Bind {
            addr: listen,
            source,
        })?;
        let chain = SimChain::start(config);
        let app = Router::new()
            .route("/", post(rpc))
            .route("/{method}", get(method_get).post(method_get))
            .with_state(Arc::clone(&chain));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("simulated node: the HTTP server stopped: {e}");
            }
        });
        Ok(Self {
            chain,
            addr,
            server,
        })
    }

    /// Waits until the chain's warm-up history is made (signer keys generated and their PoW
    /// mined, at most about a minute); `false` if `timeout` passed first.
    pub async fn wait_ready(&self, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.chain.is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        true
    }

    /// Where the API listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API's URL, as `--node` takes it.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The chain.
    #[must_use]
    pub fn chain(&self) -> &Arc<SimChain> {
        &self.chain
    }

    /// Stops serving and the chain's threads.
    pub fn stop(&self) {
        self.server.abort();
        self.chain.stop();
    }
}

impl Drop for SimNode {
    fn drop(&mut self) {
        self.stop();
    }
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({"result": result, "error": null, "id": null})),
    )
        .into_response()
}

fn error(code: i64, message: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(
            json!({"result": null, "error": {"code": code, "message": message}, "id": null}),
        ),
    )
        .into_response()
}

async fn method_get(
    State(chain): State<Arc<SimChain>>,
    Path(method): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    answer(&chain, &method, &params)
}

/// JSON-RPC: `{"method": ..., "params": {...}}`, parameters as strings.
async fn rpc(State(chain): State<Arc<SimChain>>, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return error(-32700, "Parse error");
    };
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return error(-32600, "Invalid Request");
    };
    let params: HashMap<String, String> = request
        .get("params")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    answer(&chain, method, &params)
}

fn answer(chain: &SimChain, method: &str, params: &HashMap<String, String>) -> Response {
    let num = || params.get("num").and_then(|n| n.trim().parse::<u64>().ok());
    match method {
        "getSigningChallenge" => ok(chain.challenge_json()),
        "submitSigningSolution" => {
            let Some(height) = params
                .get("blockHeight")
                .and_then(|h| h.trim().parse::<u64>().ok())
            else {
                return error(-32603, "Internal error");
            };
            let nonce = params
                .get("solution")
                .and_then(|n| base64::engine::general_purpose::STANDARD.decode(n).ok())
                .unwrap_or_default();
            // The reference discards the verdict: always null. The log line makes every
            // submission countable by a test script.
            let judged = chain.submit(height, &nonce);
            tracing::info!(
                block = height,
                nonce = hex::encode(&nonce),
                verdict = ?judged,
                "judged a submitted solution"
            );
            ok(Value::Null)
        }
        "status" => ok(chain.status_json(params.contains_key("vv"))),
        "getblockcount" => ok(json!(chain.height())),
        "getblock" | "getfullblock" => match num().and_then(|n| chain.block_json(n, method == "getfullblock")) {
            Some(block) => ok(block),
            None => error(-32603, "Block not found."),
        },
        "getwallet" => match params.get("id") {
            Some(id) => ok(chain.wallet_json(id)),
            None => error(-32602, "Invalid params"),
        },
        "verify" => {
            let field = |k: &str| params.get(k).and_then(|v| hex::decode(v.trim()).ok());
            match (field("publicKey"), field("signature"), field("hash")) {
                (Some(key), Some(signature), Some(data)) => {
                    ok(json!(node_verify(&key, &signature, &data)))
                }
                _ => error(-32602, "Invalid params"),
            }
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"result": null, "error": {"code": -32601, "message": "Method not found"}, "id": null})),
        )
            .into_response(),
    }
}
