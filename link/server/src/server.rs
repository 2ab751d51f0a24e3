//! The link's driver: the QUIC endpoint, one task per worker connection, one coordinator task
//! that owns the [`LinkCore`] and talks to the [`NodeSource`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ixi_link_proto::{Event, Message, Session, SessionConfig};
use ixi_link_transport::transport::{self, FramedStream, TransportError};
use ixi_link_transport::{AuthorizedPins, CloseCode, Identity, Pin, SessionOwner};
use tokio::sync::{mpsc, watch};

use ixi_verifier::KeyCache;
use ixi_verifier::backend::VerifyBackend;

use crate::core::{
    Action, ConnId, DispatchConfig, LinkCore, LinkStats, LocalVerify, PeerKey, ResultError,
};
use crate::shadow::{ShadowConfig, ShadowInput, ShadowShared};
use crate::source::{ForwardOutcome, NodeSource, NodeState, VerifyWork};

/// How to run the link.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Session timers.
    pub session: SessionConfig,
    /// Verification dispatch.
    pub dispatch: DispatchConfig,
}

impl ServerConfig {
    /// Defaults, listening on `listen`.
    #[must_use]
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            session: SessionConfig::default(),
            dispatch: DispatchConfig::default(),
        }
    }
}

/// What a link does besides serving miners: shadow verification of the node's blocks, and
/// the verification engine for the link's own threads.
#[derive(Default)]
pub struct LinkExtras {
    /// Shadow-verify the node's blocks.
    pub shadow: Option<ShadowConfig>,
    /// The engine for verification on the link's own threads (`--local-verify auto|always`);
    /// without one, work waits for a verifier.
    pub local_backend: Option<Arc<dyn VerifyBackend>>,
}

/// A running link.
pub struct LinkServer {
    endpoint: quinn::Endpoint,
    stats: watch::Receiver<LinkStats>,
    shadow: Option<Arc<ShadowShared>>,
    coordinator: tokio::task::JoinHandle<()>,
    acceptor: tokio::task::JoinHandle<()>,
    shadow_task: Option<tokio::task::JoinHandle<()>>,
    /// Turns of the coordinator's loop (at least ten a second while it runs).
    heartbeat: Arc<AtomicU64>,
    /// Set when the link is stopping: the coordinator drains.
    stopping: watch::Sender<bool>,
}

impl LinkServer {
    /// Polls the node once, then listens: a restarted link knows the current job before the
    /// first worker reconnects with its queued solutions.
    ///
    /// # Errors
    /// [`TransportError`] when the endpoint cannot be built or bound.
    pub async fn start<S: NodeSource>(
        identity: &Identity,
        authorized: Arc<RwLock<AuthorizedPins>>,
        source: Arc<S>,
        config: ServerConfig,
    ) -> Result<Self, TransportError> {
        Self::start_with(identity, authorized, source, config, LinkExtras::default()).await
    }

    /// As [`LinkServer::start`], with shadow verification and local verification.
    ///
    /// # Errors
    /// [`TransportError`] when the endpoint cannot be built or bound.
    pub async fn start_with<S: NodeSource>(
        identity: &Identity,
        authorized: Arc<RwLock<AuthorizedPins>>,
        source: Arc<S>,
        mut config: ServerConfig,
        extras: LinkExtras,
    ) -> Result<Self, TransportError> {
        if extras.local_backend.is_none() {
            config.dispatch.local = LocalVerify::Never;
        }
        let mut core = LinkCore::new(config.dispatch, rand::random());
        let first = source.poll().await;
        log_node_state(&first);
        let _ = core.node_state(first);
        let endpoint = transport::listen(config.listen, identity, Arc::clone(&authorized))?;
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        let (stats_tx, stats) = watch::channel(core.stats());
        let (shadow, shadow_tx, shadow_task) = match extras.shadow {
            None => (None, None, None),
            Some(shadow_config) => {
                let shared = Arc::new(ShadowShared::default());
                let (work_tx, mut work_rx) = mpsc::unbounded_channel::<Vec<VerifyWork>>();
                let (verdicts_tx, verdicts_rx) = mpsc::unbounded_channel();
                let forward = inputs_tx.clone();
                tokio::spawn(async move {
                    while let Some(work) = work_rx.recv().await {
                        if forward.send(Input::ShadowWork(work)).is_err() {
                            return;
                        }
                    }
                });
                let task_shared = Arc::clone(&shared);
                let task = tokio::spawn(async move {
                    if let Err(e) =
                        crate::shadow::run(shadow_config, task_shared, work_tx, verdicts_rx).await
                    {
                        tracing::error!("shadow verification stopped: {e}");
                    }
                });
                (Some(shared), Some(verdicts_tx), Some(task))
            }
        };
        let heartbeat = Arc::new(AtomicU64::new(0));
        let (stopping, stopping_rx) = watch::channel(false);
        let coordinator = tokio::spawn(
            Coordinator {
                core,
                source,
                authorized,
                conns: HashMap::new(),
                inputs_tx: inputs_tx.clone(),
                stats: stats_tx,
                shadow: shadow.clone(),
                shadow_tx,
                local_backend: extras.local_backend,
                local_cache: Arc::new(KeyCache::default()),
                heartbeat: Arc::clone(&heartbeat),
            }
            .run(inputs, stopping_rx),
        );
        let acceptor = tokio::spawn(accept_loop(endpoint.clone(), config.session, inputs_tx));
        Ok(Self {
            endpoint,
            stats,
            shadow,
            coordinator,
            acceptor,
            shadow_task,
            heartbeat,
            stopping,
        })
    }

    /// Turns of the coordinator's loop so far: it turns at least ten times a second while it
    /// runs, so a value that stops changing means a stuck link (what a service watchdog
    /// vouches for).
    #[must_use]
    pub fn heartbeat(&self) -> u64 {
        self.heartbeat.load(Ordering::Relaxed)
    }

    /// Stops gracefully: no new connections are accepted, no new verification batches are
    /// handed out, and the link keeps serving its workers until every solution forwarded to
    /// the node has its outcome and every batch handed out is answered, at most `grace`; then
    /// it closes every connection ([`LinkServer::shutdown`]). Returns whether everything owed
    /// was settled in time.
    pub async fn stop(self, grace: Duration) -> bool {
        // Without a server configuration the endpoint refuses new connections.
        self.endpoint.set_server_config(None);
        let _ = self.stopping.send(true);
        let mut stats = self.stats.clone();
        let settled = tokio::time::timeout(
            grace,
            stats.wait_for(|s| s.forwards_pending == 0 && s.batches_in_flight == 0),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if !settled {
            let s = self.stats.borrow().clone();
            tracing::warn!(
                forwards_pending = s.forwards_pending,
                batches_in_flight = s.batches_in_flight,
                "stopping with work unsettled after {grace:?}"
            );
        }
        self.shutdown().await;
        settled
    }

    /// Shadow verification's counters, findings and audited blocks, when it runs.
    #[must_use]
    pub fn shadow(&self) -> Option<Arc<ShadowShared>> {
        self.shadow.clone()
    }

    /// Where the link listens.
    ///
    /// # Errors
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Connections the endpoint holds now, handshakes in progress included.
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.endpoint.open_connections()
    }

    /// The counters, updated as they change.
    #[must_use]
    pub fn stats(&self) -> watch::Receiver<LinkStats> {
        self.stats.clone()
    }

    /// Closes every connection and stops.
    pub async fn shutdown(self) {
        self.endpoint.close(0u32.into(), b"link shutting down");
        self.acceptor.abort();
        self.coordinator.abort();
        if let Some(task) = self.shadow_task {
            task.abort();
        }
        // Let the close frames go out before the socket is dropped.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.endpoint.wait_idle()).await;
    }
}

fn log_node_state(state: &NodeState) {
    match state {
        NodeState::Mining(c) => tracing::info!(
            block = c.block_height,
            min_difficulty = %c.min_difficulty,
            "node mining"
        ),
        NodeState::Idle { reason, detail } => {
            tracing::info!(?reason, detail, "node idle");
        }
    }
}

/// What connection tasks and helper tasks tell the coordinator; `E` is the node source's error.
enum Input<E> {
    Connected {
        conn: ConnId,
        peer: PeerKey,
        commands: mpsc::UnboundedSender<Command>,
    },
    Received {
        conn: ConnId,
        message: Message,
    },
    Closed {
        conn: ConnId,
    },
    Polled(NodeState),
    Forwarded {
        block_height: u64,
        nonce: Vec<u8>,
        outcome: ForwardOutcome<E>,
    },
    /// Signatures from the shadow verifier.
    ShadowWork(Vec<VerifyWork>),
    /// A batch verified on the link's own threads.
    LocalDone {
        batch_id: u64,
        verdicts: Vec<bool>,
    },
}

/// What the coordinator tells a connection task.
enum Command {
    Send(Message),
    /// End the session: the worker's result could not be taken.
    Fail(ResultError),
    /// Close the connection: the worker's pin is no longer authorized.
    Revoke,
}

/// The coordinator's handle on one connection.
struct Conn {
    peer: PeerKey,
    commands: mpsc::UnboundedSender<Command>,
    /// Told to close for its pin; its Closed input is on the way.
    revoked: bool,
}

/// Handshakes in progress at most; attempts beyond are refused at once. Each costs a little
/// memory until it completes or times out (the QUIC idle timeout), so this bounds what a flood
/// of handshakes that are never finished can hold.
pub const MAX_HANDSHAKES: usize = 64;
/// From this many handshakes in progress on, an attempt from an address QUIC has not validated
/// gets a stateless retry first: a spoofed source never gets past it, and costs nothing.
pub const RETRY_ABOVE: usize = 8;

/// Counts refused or failed handshakes and says so at most once per window, with the count:
/// a flood of them must not flood the log.
struct RefusalLog {
    window: Duration,
    state: std::sync::Mutex<(Option<Instant>, u64)>,
}

impl RefusalLog {
    fn new(window: Duration) -> Self {
        Self {
            window,
            state: std::sync::Mutex::new((None, 0)),
        }
    }

    fn note(&self, remote: SocketAddr, what: &dyn std::fmt::Display) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (last, suppressed) = &mut *state;
        let now = Instant::now();
        if last.is_some_and(|t| now.duration_since(t) < self.window) {
            *suppressed += 1;
            return;
        }
        if *suppressed > 0 {
            tracing::warn!(
                %remote,
                "refused a connection: {what} (and {suppressed} more in the last {:?})",
                self.window
            );
        } else {
            tracing::warn!(%remote, "refused a connection: {what}");
        }
        *last = Some(now);
        *suppressed = 0;
    }
}

async fn accept_loop<E: Send + 'static>(
    endpoint: quinn::Endpoint,
    session: SessionConfig,
    inputs: mpsc::UnboundedSender<Input<E>>,
) {
    let mut next_conn: ConnId = 1;
    let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let refusals = Arc::new(RefusalLog::new(Duration::from_secs(10)));
    // Connection tasks live in the set, so stopping the acceptor stops them all.
    let mut connections = tokio::task::JoinSet::new();
    while let Some(incoming) = endpoint.accept().await {
        while connections.try_join_next().is_some() {}
        let in_progress = handshakes.load(std::sync::atomic::Ordering::Relaxed);
        if in_progress >= RETRY_ABOVE && !incoming.remote_address_validated() {
            // Never fails: an unvalidated address may always be retried.
            let _ = incoming.retry();
            continue;
        }
        if in_progress >= MAX_HANDSHAKES {
            refusals.note(
                incoming.remote_address(),
                &"too many handshakes in progress",
            );
            incoming.refuse();
            continue;
        }
        let conn = next_conn;
        next_conn += 1;
        let inputs = inputs.clone();
        let (handshakes, refusals) = (Arc::clone(&handshakes), Arc::clone(&refusals));
        handshakes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        connections.spawn(async move {
            let remote = incoming.remote_address();
            let result = incoming.await;
            handshakes.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            match result {
                Ok(connection) => serve_connection(conn, connection, session, inputs).await,
                // Unauthorized workers end here; the others are unaffected.
                Err(e) => refusals.note(remote, &e),
            }
        });
    }
}

async fn serve_connection<E: Send + 'static>(
    conn: ConnId,
    connection: quinn::Connection,
    config: SessionConfig,
    inputs: mpsc::UnboundedSender<Input<E>>,
) {
    let remote = connection.remote_address();
    let Some(peer) = transport::peer_pin(&connection) else {
        transport::close(&connection, CloseCode::NoSession, "no client certificate");
        return;
    };
    let accepted = tokio::time::timeout(config.idle_timeout, FramedStream::accept(&connection));
    let stream = match accepted.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return tracing::warn!(%remote, "no session stream: {e}"),
        Err(_) => {
            transport::close(
                &connection,
                CloseCode::NoSession,
                "no session stream opened",
            );
            return;
        }
    };
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let connected = Input::Connected {
        conn,
        peer: *peer.as_bytes(),
        commands: commands_tx,
    };
    if inputs.send(connected).is_err() {
        return;
    }
    let mut owner = Worker {
        conn,
        connection: connection.clone(),
        inputs,
        commands,
    };
    let session = Session::link(Instant::now(), config);
    let end = ixi_link_transport::drive(&connection, stream, session, &mut owner).await;
    tracing::info!(conn, %remote, "worker disconnected: {end}");
    let _ = owner.inputs.send(Input::Closed { conn });
}

/// The link's side of one worker's driven session: messages to the coordinator, its commands
/// to the session.
struct Worker<E> {
    conn: ConnId,
    connection: quinn::Connection,
    inputs: mpsc::UnboundedSender<Input<E>>,
    commands: mpsc::UnboundedReceiver<Command>,
}

impl<E: Send + 'static> SessionOwner for Worker<E> {
    type Input = Command;

    async fn next_input(&mut self) -> Option<Command> {
        self.commands.recv().await
    }

    fn on_input(&mut self, session: &mut Session, now: Instant, command: Command) {
        match command {
            Command::Send(message) => {
                let name = message.name();
                if let Err(e) = session.send(now, message) {
                    tracing::debug!(conn = self.conn, "{name} not sent: {e}");
                }
            }
            Command::Fail(error) => session.fail(now, error.to_string()),
            Command::Revoke => {
                // The close code tells the worker why; the session ends with it.
                transport::close(
                    &self.connection,
                    CloseCode::NotAuthorized,
                    "this worker's pin is no longer authorized",
                );
                session.close();
            }
        }
    }

    fn on_event(&mut self, _: &mut Session, _: Instant, event: Event) {
        if let Event::Message(message) = event {
            // The coordinator is gone only when the link is shutting down.
            let _ = self.inputs.send(Input::Received {
                conn: self.conn,
                message,
            });
        }
    }
}

struct Coordinator<S: NodeSource> {
    core: LinkCore,
    source: Arc<S>,
    /// The pins served; a connection whose pin leaves the set is closed.
    authorized: Arc<RwLock<AuthorizedPins>>,
    conns: HashMap<ConnId, Conn>,
    inputs_tx: mpsc::UnboundedSender<Input<S::Error>>,
    stats: watch::Sender<LinkStats>,
    shadow: Option<Arc<ShadowShared>>,
    shadow_tx: Option<mpsc::UnboundedSender<ShadowInput>>,
    local_backend: Option<Arc<dyn VerifyBackend>>,
    local_cache: Arc<KeyCache>,
    heartbeat: Arc<AtomicU64>,
}

impl<S: NodeSource> Coordinator<S> {
    async fn run(
        mut self,
        mut inputs: mpsc::UnboundedReceiver<Input<S::Error>>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let mut poll = tokio::time::interval(self.source.poll_interval());
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut polling = false;
        let mut draining = false;
        loop {
            let actions = tokio::select! {
                input = inputs.recv() => match input {
                    Some(Input::Polled(state)) => {
                        polling = false;
                        self.node_state(state)
                    }
                    Some(input) => self.input(input),
                    None => return,
                },
                _ = poll.tick() => {
                    if !polling {
                        polling = true;
                        let source = Arc::clone(&self.source);
                        let tx = self.inputs_tx.clone();
                        tokio::spawn(async move {
                            let _ = tx.send(Input::Polled(source.poll().await));
                        });
                    }
                    Vec::new()
                }
                _ = tick.tick() => {
                    self.revoke_unauthorized();
                    self.core.tick(Instant::now())
                }
                Ok(()) = stopping.changed(), if !draining => {
                    draining = *stopping.borrow();
                    if draining {
                        self.core.drain();
                    }
                    Vec::new()
                }
            };
            self.heartbeat.fetch_add(1, Ordering::Relaxed);
            self.execute(actions);
            self.stats.send_if_modified(|s| {
                let mut now = self.core.stats();
                now.shadow = self.shadow.as_ref().map(|s| s.stats());
                let changed = *s != now;
                *s = now;
                changed
            });
        }
    }

    /// Closes the connections whose pin has left the authorized set (the operator removed it
    /// from `authorized.txt`); their Closed inputs follow as for any other drop.
    fn revoke_unauthorized(&mut self) {
        let Ok(authorized) = self.authorized.read() else {
            return;
        };
        for (conn, c) in &mut self.conns {
            let pin = Pin::from_bytes(c.peer);
            if !c.revoked && !authorized.contains(&pin) {
                tracing::warn!(conn, %pin, "closing a worker whose pin is no longer authorized");
                c.revoked = true;
                let _ = c.commands.send(Command::Revoke);
            }
        }
    }

    fn node_state(&mut self, state: NodeState) -> Vec<Action> {
        if self.core.node() != Some(&state) {
            log_node_state(&state);
        }
        self.core.node_state(state)
    }

    fn input(&mut self, input: Input<S::Error>) -> Vec<Action> {
        let now = Instant::now();
        if let Input::Received { conn, .. } = &input {
            self.core.seen(*conn, now);
        }
        match input {
            Input::Connected {
                conn,
                peer,
                commands,
            } => {
                let c = Conn {
                    peer,
                    commands,
                    revoked: false,
                };
                self.conns.insert(conn, c);
                self.core.connected(conn, peer);
                Vec::new()
            }
            Input::Closed { conn } => {
                self.conns.remove(&conn);
                self.core.closed(now, conn)
            }
            Input::Polled(state) => self.node_state(state),
            Input::ShadowWork(work) => self.core.add_verify_work(now, work),
            Input::LocalDone { batch_id, verdicts } => {
                self.core.local_result(now, batch_id, &verdicts)
            }
            Input::Forwarded {
                block_height,
                nonce,
                outcome,
            } => {
                let nonce_hex = hex_of(&nonce);
                match &outcome {
                    ForwardOutcome::Failed(e) => tracing::warn!(
                        block_height,
                        nonce = nonce_hex,
                        "forwarding failed, will retry: {e}"
                    ),
                    ForwardOutcome::Taken => {
                        tracing::info!(block_height, nonce = nonce_hex, "the node took a solution");
                    }
                    ForwardOutcome::Rejected(reason) => tracing::info!(
                        block_height,
                        nonce = nonce_hex,
                        reason = reason.as_str(),
                        "the node did not take a solution"
                    ),
                }
                self.core.forward_outcome(block_height, &nonce, outcome)
            }
            Input::Received { conn, message } => match message {
                Message::Hello(hello) => {
                    tracing::info!(
                        conn,
                        role = hello.role.as_str(),
                        worker_name = hello.worker_name,
                        backends = ?hello.backends,
                        "worker joined"
                    );
                    self.core.hello(now, conn, &hello)
                }
                Message::Solution(solution) => self.core.solution(conn, solution),
                Message::VerifyResult(result) => {
                    match self.core.verify_result(now, conn, &result) {
                        Ok(actions) => actions,
                        Err(error) => {
                            tracing::warn!(conn, "{error}");
                            if let Some(c) = self.conns.get(&conn) {
                                let _ = c.commands.send(Command::Fail(error));
                            }
                            Vec::new()
                        }
                    }
                }
                Message::Stats(stats) => {
                    self.core.worker_stats(conn, &stats);
                    Vec::new()
                }
                // The session admits only the messages workers send.
                _ => Vec::new(),
            },
        }
    }

    fn execute(&self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send { conn, message } => {
                    if let Some(c) = self.conns.get(&conn) {
                        // A connection task that just ended: its Closed input follows.
                        let _ = c.commands.send(Command::Send(message));
                    }
                }
                Action::Verified { results } => {
                    if let Some(tx) = &self.shadow_tx {
                        let _ = tx.send(ShadowInput::Verified(results));
                    }
                }
                Action::Refused { tickets } => {
                    if let Some(tx) = &self.shadow_tx {
                        let _ = tx.send(ShadowInput::Refused(tickets));
                    }
                }
                Action::VerifyLocally { batch_id, items } => {
                    let Some(backend) = self.local_backend.clone() else {
                        continue;
                    };
                    let cache = Arc::clone(&self.local_cache);
                    let tx = self.inputs_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let keyed: Vec<(&[u8], &[u8], &[u8])> = items
                            .iter()
                            .map(|i| (&i.key[..], &i.message[..], &i.signature[..]))
                            .collect();
                        let verdicts = cache.verdicts(&keyed, backend.as_ref());
                        let _ = tx.send(Input::LocalDone { batch_id, verdicts });
                    });
                }
                Action::Forward {
                    block_height,
                    nonce,
                    difficulty,
                } => {
                    tracing::info!(
                        block_height,
                        %difficulty,
                        nonce = hex_of(&nonce),
                        "forwarding a solution"
                    );
                    let source = Arc::clone(&self.source);
                    let tx = self.inputs_tx.clone();
                    tokio::spawn(async move {
                        let outcome = source.forward(block_height, &nonce, &difficulty).await;
                        let _ = tx.send(Input::Forwarded {
                            block_height,
                            nonce,
                            outcome,
                        });
                    });
                }
            }
        }
    }
}

/// A nonce in hex, for log lines that a script matches against the miner's and the node's.
fn hex_of(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
