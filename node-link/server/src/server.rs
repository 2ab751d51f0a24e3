//! The link's driver: the QUIC endpoint, one task per worker connection, one coordinator task
//! that owns the [`LinkCore`] and talks to the [`NodeSource`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ixi_link_proto::Message;
use ixi_link_proto::session::{LinkEvent, LinkSession, SessionConfig};
use ixi_node_link::transport::{self, FramedStream, Received, TransportError};
use ixi_node_link::{AuthorizedPins, Identity};
use tokio::sync::{mpsc, watch};

use crate::core::{Action, ConnId, DispatchConfig, LinkCore, LinkStats, PeerKey};
use crate::source::{ForwardOutcome, NodeSource, NodeState};

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

/// A running link.
pub struct LinkServer {
    endpoint: quinn::Endpoint,
    stats: watch::Receiver<LinkStats>,
    coordinator: tokio::task::JoinHandle<()>,
    acceptor: tokio::task::JoinHandle<()>,
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
        let mut core = LinkCore::new(config.dispatch, rand::random());
        let first = source.poll().await;
        log_node_state(&first);
        let _ = core.node_state(first);
        let endpoint = transport::listen(config.listen, identity, authorized)?;
        let (inputs_tx, inputs) = mpsc::unbounded_channel();
        let (stats_tx, stats) = watch::channel(core.stats());
        let coordinator = tokio::spawn(
            Coordinator {
                core,
                source,
                conns: HashMap::new(),
                inputs_tx: inputs_tx.clone(),
                stats: stats_tx,
            }
            .run(inputs),
        );
        let acceptor = tokio::spawn(accept_loop(endpoint.clone(), config.session, inputs_tx));
        Ok(Self {
            endpoint,
            stats,
            coordinator,
            acceptor,
        })
    }

    /// Where the link listens.
    ///
    /// # Errors
    /// The socket's error.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
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

/// What connection tasks and helper tasks tell the coordinator.
enum Input {
    Connected {
        conn: ConnId,
        peer: PeerKey,
        commands: mpsc::UnboundedSender<Command>,
    },
    Event {
        conn: ConnId,
        event: LinkEvent,
    },
    Closed {
        conn: ConnId,
    },
    Polled(NodeState),
    Forwarded {
        block_height: u64,
        nonce: Vec<u8>,
        outcome: ForwardOutcome,
    },
}

/// What the coordinator tells a connection task.
enum Command {
    Send(Message),
    Fail(String),
}

async fn accept_loop(
    endpoint: quinn::Endpoint,
    session: SessionConfig,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let mut next_conn: ConnId = 1;
    // Connection tasks live in the set, so stopping the acceptor stops them all.
    let mut connections = tokio::task::JoinSet::new();
    while let Some(incoming) = endpoint.accept().await {
        while connections.try_join_next().is_some() {}
        let conn = next_conn;
        next_conn += 1;
        let inputs = inputs.clone();
        connections.spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(connection) => serve_connection(conn, connection, session, inputs).await,
                // Unauthorized workers end here; the others are unaffected.
                Err(e) => tracing::warn!(%remote, "refused a connection: {e}"),
            }
        });
    }
}

async fn serve_connection(
    conn: ConnId,
    connection: quinn::Connection,
    config: SessionConfig,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let remote = connection.remote_address();
    let Some(peer) = transport::peer_pin(&connection) else {
        connection.close(1u32.into(), b"no client certificate");
        return;
    };
    let accepted = tokio::time::timeout(config.idle_timeout, FramedStream::accept(&connection));
    let stream = match accepted.await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return tracing::warn!(%remote, "no session stream: {e}"),
        Err(_) => {
            connection.close(1u32.into(), b"no session stream opened");
            return;
        }
    };
    let (commands_tx, mut commands) = mpsc::unbounded_channel();
    if inputs
        .send(Input::Connected {
            conn,
            peer: *peer.as_bytes(),
            commands: commands_tx,
        })
        .is_err()
    {
        return;
    }
    let (mut sender, mut received) = stream.into_split();
    let mut session = LinkSession::new(Instant::now(), config);
    let reason = loop {
        let mut closed = None;
        while let Some(event) = session.poll_event() {
            match event {
                LinkEvent::Closed(reason) => closed = Some(format!("{reason:?}")),
                event => {
                    let _ = inputs.send(Input::Event { conn, event });
                }
            }
        }
        let mut write_error = None;
        while let Some(frame) = session.poll_transmit() {
            if let Err(e) = sender.write(&frame).await {
                write_error = Some(e.to_string());
                break;
            }
        }
        if let Some(reason) = closed {
            sender.finish_and_wait(Duration::from_secs(1)).await;
            connection.close(1u32.into(), reason.as_bytes());
            break reason;
        }
        if let Some(e) = write_error {
            break e;
        }
        let deadline = session.poll_timeout().map_or_else(
            || tokio::time::Instant::now() + config.idle_timeout,
            Into::into,
        );
        tokio::select! {
            r = received.recv() => match r {
                Some(Received::Bytes(bytes)) => session.handle(Instant::now(), &bytes),
                Some(Received::Lost(e)) => break e,
                Some(Received::Finished) | None => break "the worker finished its stream".to_owned(),
            },
            command = commands.recv() => match command {
                Some(Command::Send(message)) => {
                    if let Err(e) = session.send(Instant::now(), message) {
                        tracing::debug!(conn, "not sent: {e}");
                    }
                }
                Some(Command::Fail(message)) => session.fail(Instant::now(), message),
                None => {
                    connection.close(0u32.into(), b"link shutting down");
                    break "link shutting down".to_owned();
                }
            },
            () = tokio::time::sleep_until(deadline) => session.handle_timeout(Instant::now()),
        }
    };
    tracing::info!(conn, %remote, "worker disconnected: {reason}");
    let _ = inputs.send(Input::Closed { conn });
}

struct Coordinator<S> {
    core: LinkCore,
    source: Arc<S>,
    conns: HashMap<ConnId, mpsc::UnboundedSender<Command>>,
    inputs_tx: mpsc::UnboundedSender<Input>,
    stats: watch::Sender<LinkStats>,
}

impl<S: NodeSource> Coordinator<S> {
    async fn run(mut self, mut inputs: mpsc::UnboundedReceiver<Input>) {
        let mut poll = tokio::time::interval(self.source.poll_interval());
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut polling = false;
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
                    let now = Instant::now();
                    let mut actions = self.core.tick(now);
                    let work = self.source.take_verify_work();
                    if !work.is_empty() {
                        actions.extend(self.core.add_verify_work(now, work));
                    }
                    actions
                }
            };
            self.execute(actions);
            self.stats.send_if_modified(|s| {
                let now = self.core.stats();
                let changed = *s != now;
                *s = now;
                changed
            });
        }
    }

    fn node_state(&mut self, state: NodeState) -> Vec<Action> {
        if self.core.node() != Some(&state) {
            log_node_state(&state);
        }
        self.core.node_state(state)
    }

    fn input(&mut self, input: Input) -> Vec<Action> {
        let now = Instant::now();
        match input {
            Input::Connected {
                conn,
                peer,
                commands,
            } => {
                self.conns.insert(conn, commands);
                self.core.connected(conn, peer);
                Vec::new()
            }
            Input::Closed { conn } => {
                self.conns.remove(&conn);
                self.core.closed(now, conn)
            }
            Input::Polled(state) => self.node_state(state),
            Input::Forwarded {
                block_height,
                nonce,
                outcome,
            } => {
                if let ForwardOutcome::Failed(e) = &outcome {
                    tracing::warn!(block_height, "forwarding failed, will retry: {e}");
                }
                self.core.forward_outcome(block_height, &nonce, outcome)
            }
            Input::Event { conn, event } => match event {
                LinkEvent::Hello {
                    role,
                    worker_name,
                    backends,
                    measured_rate,
                } => {
                    tracing::info!(conn, ?role, worker_name, ?backends, "worker joined");
                    self.core.hello(now, conn, role, measured_rate)
                }
                LinkEvent::Solution { job_id, nonce } => self.core.solution(conn, job_id, nonce),
                LinkEvent::VerifyResult { batch_id, verdicts } => {
                    match self.core.verify_result(now, conn, batch_id, &verdicts) {
                        Ok(actions) => actions,
                        Err(message) => {
                            tracing::warn!(conn, "{message}");
                            if let Some(c) = self.conns.get(&conn) {
                                let _ = c.send(Command::Fail(message));
                            }
                            Vec::new()
                        }
                    }
                }
                LinkEvent::Stats { rate, .. } => {
                    self.core.worker_stats(conn, rate);
                    Vec::new()
                }
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
                        let _ = c.send(Command::Send(message));
                    }
                }
                Action::Forward {
                    block_height,
                    nonce,
                    difficulty,
                } => {
                    tracing::info!(block_height, %difficulty, "forwarding a solution");
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
