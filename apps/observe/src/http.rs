//! The read-only HTTP endpoint: `/metrics`, `/v1/status`, and on the link `/v1/history` and
//! the dashboard at `/`.
//!
//! The listener is bound before the runtime's work starts ([`bind`]), so that a process can say
//! where it serves (port 0 picks a free port) before it says anything else; serving needs a
//! tokio runtime ([`Listener::serve`]). Every answer is computed from the snapshots at the time
//! of the request and is marked `no-store`; nothing a client sends changes anything.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::collector::Collector;
use prometheus_client::registry::Registry;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::metrics::ProcessCollector;

type Snapshot = Box<dyn Fn() -> Value + Send + Sync>;

/// What an endpoint serves: the metric collectors, the status, and for the link the history
/// behind the dashboard.
pub struct Endpoint {
    registry: Registry,
    status: Snapshot,
    history: Option<Snapshot>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("registry", &self.registry)
            .field("dashboard", &self.history.is_some())
            .finish_non_exhaustive()
    }
}

/// The dashboard page: HTML, CSS and script in one file, nothing loaded from elsewhere.
pub const DASHBOARD: &str = include_str!("dashboard.html");

/// What the page may load: itself, and its own `/v1/...` answers. A browser enforces it, so a
/// change that made the page load anything from elsewhere would fail in the browser test.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

impl Endpoint {
    /// An endpoint whose `/v1/status` is `status()`, with `process_start_time_seconds`.
    #[must_use]
    pub fn new(status: impl Fn() -> Value + Send + Sync + 'static) -> Self {
        crate::metrics::note_process_start();
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        Self {
            registry,
            status: Box::new(status),
            history: None,
        }
    }

    /// Adds metric families, written at each scrape.
    #[must_use]
    pub fn collector(mut self, collector: impl Collector) -> Self {
        self.registry.register_collector(Box::new(collector));
        self
    }

    /// Serves the dashboard at `/`, drawing `/v1/history` from `history()`.
    #[must_use]
    pub fn dashboard(mut self, history: impl Fn() -> Value + Send + Sync + 'static) -> Self {
        self.history = Some(Box::new(history));
        self
    }

    /// `/metrics` now, in the Prometheus text format.
    #[must_use]
    pub fn metrics_text(&self) -> String {
        let mut text = String::new();
        // Writing to a String fails only if a collector fails; what was written still serves.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
        {
            tracing::warn!("metrics partly written: {e}");
        }
        text
    }

    /// `/v1/status` now, with the process's start time, uptime and version under `process`.
    #[must_use]
    pub fn status(&self) -> Value {
        let mut status = (self.status)();
        if let Value::Object(map) = &mut status {
            let started = crate::metrics::note_process_start();
            map.insert(
                "process".into(),
                serde_json::json!({
                    "version": env!("CARGO_PKG_VERSION"),
                    "startTime": started,
                    "uptimeSeconds": (crate::metrics::unix_now() - started).max(0.0),
                }),
            );
        }
        status
    }
}

/// A bound listener, not yet serving.
#[derive(Debug)]
pub struct Listener(std::net::TcpListener);

/// Binds `addr` (port 0 picks a free port).
///
/// # Errors
/// The socket's error (the address is in use, or not this host's).
pub fn bind(addr: SocketAddr) -> std::io::Result<Listener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(Listener(listener))
}

impl Listener {
    /// Where it listens.
    ///
    /// # Errors
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.local_addr()
    }

    /// Serves `endpoint` on the current tokio runtime until [`Server::stop`].
    ///
    /// # Errors
    /// The socket cannot join the runtime.
    pub fn serve(self, endpoint: Endpoint) -> std::io::Result<Server> {
        let addr = self.0.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(self.0)?;
        let endpoint = Arc::new(endpoint);
        let mut router = Router::new()
            .route("/metrics", get(metrics))
            .route("/v1/status", get(status));
        router = if endpoint.history.is_some() {
            router
                .route("/v1/history", get(history))
                .route("/", get(dashboard))
        } else {
            router.route("/", get(index))
        };
        let app = router.fallback(not_found).with_state(endpoint);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!("the HTTP endpoint stopped: {e}");
            }
        });
        Ok(Server {
            addr,
            stop: stop_tx,
            task,
        })
    }
}

/// A serving endpoint.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Where it serves.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving: no new connections; requests in progress get up to a second.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(std::time::Duration::from_secs(1), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

/// Binds and serves `endpoint` at `addr` when one is given; a failure to bind is logged and the
/// process goes on without the endpoint (its main work matters more than its metrics). Says
/// where it serves on stderr.
#[must_use]
pub fn start(addr: Option<SocketAddr>, endpoint: impl FnOnce() -> Endpoint) -> Option<Server> {
    let addr = addr?;
    let served = bind(addr).and_then(|l| l.serve(endpoint()));
    match served {
        Ok(server) => {
            eprintln!("http endpoint on http://{}/", server.local_addr());
            Some(server)
        }
        Err(e) => {
            tracing::error!("no HTTP endpoint: --http-listen {addr}: {e}");
            None
        }
    }
}

/// Runs `work` while serving `endpoint` at `addr` (when one is given), then stops serving.
pub async fn serving<T>(
    addr: Option<SocketAddr>,
    endpoint: impl FnOnce() -> Endpoint,
    work: impl std::future::Future<Output = T>,
) -> T {
    let server = start(addr, endpoint);
    let out = work.await;
    if let Some(server) = server {
        server.stop().await;
    }
    out
}

fn no_store(content_type: &'static str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn metrics(State(endpoint): State<Arc<Endpoint>>) -> Response {
    no_store(
        "text/plain; version=0.0.4; charset=utf-8",
        endpoint.metrics_text(),
    )
}

async fn status(State(endpoint): State<Arc<Endpoint>>) -> Response {
    no_store("application/json", endpoint.status().to_string())
}

async fn history(State(endpoint): State<Arc<Endpoint>>) -> Response {
    let body = endpoint
        .history
        .as_ref()
        .map_or(Value::Null, |history| history());
    no_store("application/json", body.to_string())
}

async fn dashboard() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        DASHBOARD,
    )
        .into_response()
}

async fn index() -> Response {
    no_store(
        "text/plain; charset=utf-8",
        "ixi-accel endpoint: /metrics (Prometheus text format), /v1/status (JSON)\n".to_owned(),
    )
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CACHE_CONTROL, "no-store")],
        "not found: /metrics, /v1/status (and on the link /v1/history, /)\n",
    )
        .into_response()
}
