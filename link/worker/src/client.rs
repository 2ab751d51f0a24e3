//! The worker side of the link: connect to the link's pin, run the session, reconnect forever.
//!
//! [`spawn_worker`] returns a [`WorkerHandle`]: what the worker produces goes in through
//! [`WorkerHandle::send`], what the link says comes out of [`WorkerHandle::recv`]. Between
//! connections the handle keeps taking input:
//! - solutions wait in a queue and go out once the next session is welcomed; a solution stays
//!   queued until the link answers it with a verdict, so one sent just before a drop is sent
//!   again (the link answers a repeat with its first verdict);
//! - verification results of a lost session are not sent again: the link has already handed
//!   that batch to another verifier. They are reported as [`LinkUpdate::ResultDropped`];
//! - counters (`Stats`) are only worth sending live, and are dropped offline.
//!
//! Reconnection waits a capped, jittered exponential backoff, reset after every welcomed
//! session. The session itself runs on the transport's shared driver
//! ([`ixi_link_transport::drive`]); this module is only its owner on the worker side.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ixi_link_proto::{
    Event, Hello, Message, PROTOCOL_VERSION, Role, Session, SessionConfig, Solution,
};
use ixi_link_transport::transport::{self, FramedStream};
use ixi_link_transport::{
    CloseCode, Connection, Identity, Pin, SessionEnd, SessionOwner, TransportError,
};
use rand::Rng as _;
use tokio::sync::{mpsc, watch};

/// How long to wait between connection attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait before attempt `failures + 1`: doubling from `initial`, capped at `max`, then
    /// scaled by a random factor in [0.5, 1.0] so that many workers do not retry in step.
    #[must_use]
    pub fn delay(&self, failures: u32) -> Duration {
        let doubled = self
            .initial
            .saturating_mul(1u32 << failures.min(16))
            .min(self.max);
        doubled.mul_f64(rand::rng().random_range(0.5..=1.0))
    }
}

/// Who the worker is and where its link is.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The link's address, `host:port`, resolved again on every attempt.
    pub link: String,
    /// The link's pin.
    pub link_pin: Pin,
    /// Miner or verifier.
    pub role: Role,
    /// A name for the link's logs and status.
    pub name: String,
    /// The compute backends this worker runs.
    pub backends: Vec<String>,
    /// Its measured rate (attempts/s or verifies/s).
    pub measured_rate: f64,
    /// Session timers.
    pub session: SessionConfig,
    /// Reconnection waits.
    pub backoff: Backoff,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
}

impl WorkerOptions {
    /// Options with default timers for a worker of `role` named `name`.
    #[must_use]
    pub fn new(link: String, link_pin: Pin, role: Role, name: String) -> Self {
        Self {
            link,
            link_pin,
            role,
            name,
            backends: Vec::new(),
            measured_rate: 0.0,
            session: SessionConfig::default(),
            backoff: Backoff::default(),
            connect_timeout: Duration::from_secs(10),
        }
    }

    fn hello(&self) -> Hello {
        Hello {
            role: self.role,
            protocol_version: PROTOCOL_VERSION,
            worker_name: self.name.clone(),
            backends: self.backends.clone(),
            measured_rate: self.measured_rate,
        }
    }
}

/// Why the worker is not connected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Disconnect {
    /// The link's address does not resolve.
    #[error("cannot resolve {link}: {source}")]
    Resolve {
        /// The address as given.
        link: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The link's address resolves to nothing.
    #[error("{0} resolves to no address")]
    NoAddress(String),
    /// Nothing answered in time.
    #[error("no answer from {addr} within {timeout:?}")]
    Timeout {
        /// Where.
        addr: SocketAddr,
        /// How long it waited.
        timeout: Duration,
    },
    /// The connection could not be made, or broke.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The session ended.
    #[error("{0}")]
    Session(SessionEnd),
    /// The link does not serve this worker's pin (refused at the handshake, or no longer
    /// authorized). Retried at the capped backoff: the operator may authorize it later.
    #[error(
        "not authorized by the link: this worker's pin is {pin}; the link's operator authorizes it with `ixi-link authorize --pin {pin}`"
    )]
    NotAuthorized {
        /// This worker's pin.
        pin: Pin,
    },
}

impl Disconnect {
    /// The close code the link sent, when the link closed the connection itself.
    #[must_use]
    pub fn link_close_code(&self) -> Option<CloseCode> {
        match self {
            Self::Transport(e) | Self::Session(SessionEnd::Lost(e)) => e.peer_close_code(),
            Self::NotAuthorized { .. } => Some(CloseCode::NotAuthorized),
            _ => None,
        }
    }
}

/// What the link connection reports to the worker.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkUpdate {
    /// Connected to the link at this address and welcomed (the Welcome follows as a message).
    Connected(SocketAddr),
    /// A message from the link (Welcome, Job, SolutionVerdict, VerifyBatch, Idle).
    Received(Message),
    /// The connection is gone or could not be made; the next attempt is in `retry_in`.
    Disconnected {
        /// Why.
        reason: Disconnect,
        /// When the next attempt starts.
        retry_in: Duration,
    },
    /// A batch result could not be delivered because its session ended (the link hands that
    /// batch to another verifier).
    ResultDropped {
        /// The batch.
        batch_id: u64,
    },
}

/// The part of a worker's status that follows its connection.
pub(crate) trait LinkStatus {
    /// Whether a session is up, and the last thing told to the operator.
    fn link_fields(&mut self) -> (&mut bool, &mut String);

    /// Logs `message` and keeps it as the status's last message.
    fn say(&mut self, message: String) {
        tracing::info!("{message}");
        *self.link_fields().1 = message;
    }

    /// Takes in a connection change (the status line says what the worker does meanwhile:
    /// `while_away`); gives back any other update.
    fn follow_connection(&mut self, update: LinkUpdate, while_away: &str) -> Option<LinkUpdate> {
        match update {
            LinkUpdate::Connected(addr) => self.say(format!("connected to the link at {addr}")),
            LinkUpdate::Disconnected { reason, retry_in } => {
                *self.link_fields().0 = false;
                let retry_in = retry_in.as_secs_f64();
                self.say(format!(
                    "link lost ({reason}); {while_away}retrying in {retry_in:.1} s"
                ));
            }
            LinkUpdate::Received(Message::Welcome(welcome)) => {
                *self.link_fields().0 = true;
                return Some(LinkUpdate::Received(Message::Welcome(welcome)));
            }
            other => return Some(other),
        }
        None
    }
}

/// A running worker connection.
pub struct WorkerHandle {
    to_link: mpsc::UnboundedSender<Message>,
    updates: mpsc::UnboundedReceiver<LinkUpdate>,
    /// `Some(deadline)` once the owner stops: queued solutions may still go out until then.
    shutdown: watch::Sender<Option<tokio::time::Instant>>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Hands a message to the link: a `Solution`, a `VerifyResult` or `Stats` (queued or
    /// dropped while disconnected, as the module docs say).
    pub fn send(&self, message: impl Into<Message>) {
        // The task ends only after shutdown; a send after that has nowhere to go.
        let _ = self.to_link.send(message.into());
    }

    /// A sender for other tasks.
    #[must_use]
    pub fn sender(&self) -> mpsc::UnboundedSender<Message> {
        self.to_link.clone()
    }

    /// The next update; `None` after shutdown.
    pub async fn recv(&mut self) -> Option<LinkUpdate> {
        self.updates.recv().await
    }

    /// Closes the connection and ends the task at once.
    pub async fn shutdown(self) {
        self.finish(Duration::ZERO).await;
    }

    /// Delivers the solutions still unanswered, for at most `grace` (reconnecting if the link
    /// is away), then closes the connection and ends the task. Solutions the link has not
    /// answered by then are lost with the process; the log says how many.
    pub async fn finish(self, grace: Duration) {
        let _ = self
            .shutdown
            .send(Some(tokio::time::Instant::now() + grace));
        // A panicked task has nothing left to close.
        let _ = self.task.await;
    }
}

/// Starts the worker's connection task. Needs a tokio runtime.
#[must_use]
pub fn spawn_worker(identity: Identity, options: WorkerOptions) -> WorkerHandle {
    let (to_link, inbox) = mpsc::unbounded_channel();
    let (updates_tx, updates) = mpsc::unbounded_channel();
    let (shutdown, shutdown_rx) = watch::channel(None);
    let task = tokio::spawn(
        Client {
            identity,
            options,
            inbox,
            updates: updates_tx,
            shutdown: shutdown_rx,
            unacked: VecDeque::new(),
        }
        .run(),
    );
    WorkerHandle {
        to_link,
        updates,
        shutdown,
        task,
    }
}

/// The connection task's state, kept across sessions.
struct Client {
    identity: Identity,
    options: WorkerOptions,
    inbox: mpsc::UnboundedReceiver<Message>,
    updates: mpsc::UnboundedSender<LinkUpdate>,
    shutdown: watch::Receiver<Option<tokio::time::Instant>>,
    /// Solutions not yet answered by a verdict, oldest first.
    unacked: VecDeque<Solution>,
}

/// How soon a stopping worker with solutions to deliver tries the link again.
const DRAIN_RETRY: Duration = Duration::from_millis(250);

impl Client {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            let (reason, welcomed) = match self.session().await {
                Ok(None) => break,
                Ok(Some((end, welcomed))) => (Disconnect::Session(end), welcomed),
                Err(e) => (e, false),
            };
            let reason = if reason.link_close_code() == Some(CloseCode::NotAuthorized) {
                Disconnect::NotAuthorized {
                    pin: self.identity.pin(),
                }
            } else {
                reason
            };
            if welcomed {
                failures = 0;
            }
            let retry_in = if self.stopping() {
                DRAIN_RETRY
            } else {
                self.options.backoff.delay(failures)
            };
            failures = failures.saturating_add(1);
            self.update(LinkUpdate::Disconnected { reason, retry_in });
            if self.wait_offline(retry_in).await {
                break;
            }
        }
        if !self.unacked.is_empty() {
            tracing::warn!(
                unanswered = self.unacked.len(),
                "stopped with solutions the link has not answered"
            );
        }
    }

    /// Whether the owner asked to stop.
    fn stopping(&self) -> bool {
        self.shutdown.borrow().is_some()
    }

    /// Whether a stopping worker is done: nothing left to deliver, or out of time.
    fn finished(&self) -> bool {
        self.shutdown.borrow().is_some_and(|deadline| {
            self.unacked.is_empty() || tokio::time::Instant::now() >= deadline
        })
    }

    /// When a stopping worker gives up.
    fn deadline(&self) -> Option<tokio::time::Instant> {
        *self.shutdown.borrow()
    }

    fn update(&self, update: LinkUpdate) {
        // The owner dropped its handle: nobody is listening, and shutdown follows.
        let _ = self.updates.send(update);
    }

    /// Takes input while no session is welcomed: solutions queue, results are reported lost.
    fn take_offline(&mut self, message: Message) {
        match message {
            Message::Solution(s) => self.unacked.push_back(s),
            Message::VerifyResult(r) => self.update(LinkUpdate::ResultDropped {
                batch_id: r.batch_id,
            }),
            _ => {}
        }
    }

    /// Waits `delay` while queueing input. Returns true when a stopping worker is done.
    async fn wait_offline(&mut self, delay: Duration) -> bool {
        let until = tokio::time::Instant::now() + delay;
        loop {
            if self.finished() {
                return true;
            }
            let until = self.deadline().map_or(until, |d| d.min(until));
            tokio::select! {
                () = tokio::time::sleep_until(until) => return self.finished(),
                message = self.inbox.recv() => match message {
                    Some(m) => self.take_offline(m),
                    None => return true,
                },
                _ = self.shutdown.changed() => {}
            }
        }
    }

    async fn connect(&self) -> Result<Connection, Disconnect> {
        let link = &self.options.link;
        let addr = tokio::net::lookup_host(link)
            .await
            .map_err(|source| Disconnect::Resolve {
                link: link.clone(),
                source,
            })?
            .next()
            .ok_or_else(|| Disconnect::NoAddress(link.clone()))?;
        let timeout = self.options.connect_timeout;
        let connecting = transport::connect(addr, &self.identity, self.options.link_pin);
        match tokio::time::timeout(timeout, connecting).await {
            Ok(c) => Ok(c?),
            Err(_) => Err(Disconnect::Timeout { addr, timeout }),
        }
    }

    /// One connection: `Ok(None)` on shutdown, else how the session ended and whether it was
    /// welcomed.
    async fn session(&mut self) -> Result<Option<(SessionEnd, bool)>, Disconnect> {
        if self.finished() {
            return Ok(None);
        }
        let mut shutdown = self.shutdown.clone();
        let connection = {
            let connecting = self.connect();
            tokio::pin!(connecting);
            loop {
                let deadline = self.deadline();
                tokio::select! {
                    c = &mut connecting => break c?,
                    _ = shutdown.changed() => {}
                    () = sleep_until_some(deadline) => {}
                }
                if self.finished() {
                    return Ok(None);
                }
            }
        };
        let stream = FramedStream::open(&connection).await?;
        let session = Session::worker(Instant::now(), self.options.session, self.options.hello());
        let mut owner = Online {
            client: self,
            welcomed: false,
            remote: connection.remote_address(),
        };
        let end = ixi_link_transport::drive(&connection, stream, session, &mut owner).await;
        let welcomed = owner.welcomed;
        Ok(match end {
            SessionEnd::Shutdown => None,
            end => Some((end, welcomed)),
        })
    }
}

/// The worker's side of one driven session.
struct Online<'a> {
    client: &'a mut Client,
    welcomed: bool,
    remote: SocketAddr,
}

impl SessionOwner for Online<'_> {
    type Input = Message;

    async fn next_input(&mut self) -> Option<Message> {
        loop {
            if self.client.finished() {
                return None;
            }
            let deadline = self.client.deadline();
            tokio::select! {
                message = self.client.inbox.recv() => return message,
                _ = self.client.shutdown.changed() => {}
                () = sleep_until_some(deadline) => {}
            }
        }
    }

    fn on_input(&mut self, session: &mut Session, now: Instant, message: Message) {
        if !self.welcomed {
            return self.client.take_offline(message);
        }
        match message {
            Message::Solution(solution) => {
                self.client.unacked.push_back(solution.clone());
                // A refusal means the session is closing: the solution stays queued.
                let _ = session.send(now, solution);
            }
            Message::VerifyResult(result) => {
                let batch_id = result.batch_id;
                if session.send(now, result).is_err() {
                    self.client.update(LinkUpdate::ResultDropped { batch_id });
                }
            }
            other => {
                let name = other.name();
                if let Err(e) = session.send(now, other) {
                    tracing::debug!("{name} not sent: {e}");
                }
            }
        }
    }

    fn on_event(&mut self, session: &mut Session, now: Instant, event: Event) {
        let Event::Message(message) = event else {
            // The driver returns the close as the session's end.
            return;
        };
        match &message {
            Message::Welcome(_) => {
                self.welcomed = true;
                self.client.update(LinkUpdate::Connected(self.remote));
                for solution in &self.client.unacked {
                    // Welcomed and open: the session takes it.
                    let _ = session.send(now, solution.clone());
                }
            }
            Message::SolutionVerdict(v) => {
                self.client
                    .unacked
                    .retain(|s| !(s.job_id == v.job_id && s.nonce == v.nonce));
            }
            _ => {}
        }
        self.client.update(LinkUpdate::Received(message));
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
