//! The worker side of the link: connect to the link's pin, run the session, reconnect forever.
//!
//! [`spawn_worker`] returns a [`WorkerHandle`]: what the worker produces goes in through
//! [`WorkerHandle::send`], what the link says comes out of [`WorkerHandle::recv`]. Between
//! connections the handle keeps taking input:
//! - solutions wait in a queue and go out once the next session is welcomed; a solution stays
//!   queued until the link answers it with a verdict, so one sent just before a drop is sent
//!   again (the link answers a repeat with its first verdict);
//! - verification results of a lost session are not sent again: the link has already handed
//!   that batch to another verifier. They are reported as [`LinkUpdate::ResultDropped`].
//!
//! Reconnection waits a capped, jittered exponential backoff, reset after every welcomed
//! session.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ixi_link_proto::Role;
use ixi_link_proto::session::{SessionConfig, WorkerEvent, WorkerSession};
use rand::Rng as _;
use tokio::sync::{mpsc, watch};

use crate::identity::{Identity, Pin};
use crate::transport::{self, FramedStream, Received};

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
}

/// What a worker hands to its link.
#[derive(Debug, Clone, PartialEq)]
pub enum ToLink {
    /// A miner's solution.
    Solution {
        /// The job it solves.
        job_id: u64,
        /// The nonce.
        nonce: Vec<u8>,
    },
    /// A verifier's verdicts for a batch.
    Result {
        /// The batch.
        batch_id: u64,
        /// One per item, in order.
        verdicts: Vec<bool>,
    },
    /// Counters for the link's status display.
    Stats {
        /// Done since the worker started.
        done: u64,
        /// Current rate per second.
        rate: f64,
    },
}

/// What the link connection reports to the worker.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LinkUpdate {
    /// Connected to this address; a Welcome follows as an event.
    Connected(SocketAddr),
    /// A session event (welcome, job, verdict, batch, idle).
    Event(WorkerEvent),
    /// The connection is gone or could not be made; the next attempt is in `retry_in`.
    Disconnected {
        /// Why.
        reason: String,
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

/// A running worker connection.
pub struct WorkerHandle {
    to_link: mpsc::UnboundedSender<ToLink>,
    updates: mpsc::UnboundedReceiver<LinkUpdate>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Hands something to the link (queued while disconnected, see the module docs).
    pub fn send(&self, message: ToLink) {
        // The task ends only after shutdown; a send after that has nowhere to go.
        let _ = self.to_link.send(message);
    }

    /// A sender for other tasks.
    #[must_use]
    pub fn sender(&self) -> mpsc::UnboundedSender<ToLink> {
        self.to_link.clone()
    }

    /// The next update; `None` after shutdown.
    pub async fn recv(&mut self) -> Option<LinkUpdate> {
        self.updates.recv().await
    }

    /// Closes the connection and ends the task.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        // A panicked task has nothing left to close.
        let _ = self.task.await;
    }
}

/// Starts the worker's connection task. Needs a tokio runtime.
#[must_use]
pub fn spawn_worker(identity: Identity, options: WorkerOptions) -> WorkerHandle {
    let (to_link, inbox) = mpsc::unbounded_channel();
    let (updates_tx, updates) = mpsc::unbounded_channel();
    let (shutdown, shutdown_rx) = watch::channel(false);
    let task = tokio::spawn(
        Connection {
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

enum SessionEnd {
    Shutdown,
    Lost { reason: String, welcomed: bool },
}

struct Connection {
    identity: Identity,
    options: WorkerOptions,
    inbox: mpsc::UnboundedReceiver<ToLink>,
    updates: mpsc::UnboundedSender<LinkUpdate>,
    shutdown: watch::Receiver<bool>,
    /// Solutions not yet answered by a verdict, oldest first.
    unacked: VecDeque<(u64, Vec<u8>)>,
}

impl Connection {
    async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            match self.session().await {
                SessionEnd::Shutdown => return,
                SessionEnd::Lost { reason, welcomed } => {
                    if welcomed {
                        failures = 0;
                    }
                    let retry_in = self.options.backoff.delay(failures);
                    failures = failures.saturating_add(1);
                    self.update(LinkUpdate::Disconnected { reason, retry_in });
                    if self.wait_offline(retry_in).await {
                        return;
                    }
                }
            }
        }
    }

    fn update(&self, update: LinkUpdate) {
        // The owner dropped its handle: nobody is listening, and shutdown follows.
        let _ = self.updates.send(update);
    }

    /// Takes input while no session is welcomed: solutions queue, results are reported lost.
    fn take_offline(&mut self, message: ToLink) {
        match message {
            ToLink::Solution { job_id, nonce } => self.unacked.push_back((job_id, nonce)),
            ToLink::Result { batch_id, .. } => self.update(LinkUpdate::ResultDropped { batch_id }),
            ToLink::Stats { .. } => {}
        }
    }

    /// Waits `delay` while queueing input. Returns true on shutdown.
    async fn wait_offline(&mut self, delay: Duration) -> bool {
        let until = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return false,
                message = self.inbox.recv() => match message {
                    Some(m) => self.take_offline(m),
                    None => return true,
                },
                _ = self.shutdown.changed() => return true,
            }
        }
    }

    async fn connect(&self) -> Result<quinn::Connection, String> {
        let addr = tokio::net::lookup_host(&self.options.link)
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", self.options.link))?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", self.options.link))?;
        let connecting = transport::connect(addr, &self.identity, self.options.link_pin);
        match tokio::time::timeout(self.options.connect_timeout, connecting).await {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "no answer from {addr} within {:?}",
                self.options.connect_timeout
            )),
        }
    }

    async fn session(&mut self) -> SessionEnd {
        let lost = |reason: String, welcomed| SessionEnd::Lost { reason, welcomed };
        let mut shutdown = self.shutdown.clone();
        let connection = tokio::select! {
            c = self.connect() => match c {
                Ok(c) => c,
                Err(reason) => return lost(reason, false),
            },
            _ = shutdown.changed() => return SessionEnd::Shutdown,
        };
        self.update(LinkUpdate::Connected(connection.remote_address()));
        let stream = match FramedStream::open(&connection).await {
            Ok(s) => s,
            Err(e) => return lost(e.to_string(), false),
        };
        let (mut sender, mut received) = stream.into_split();
        let o = &self.options;
        let backends: Vec<&str> = o.backends.iter().map(String::as_str).collect();
        let mut session = WorkerSession::new(
            Instant::now(),
            o.session,
            o.role,
            &o.name,
            &backends,
            o.measured_rate,
        );
        let idle_timeout = o.session.idle_timeout;
        let mut welcomed = false;
        loop {
            // Events first (a Welcome queues the resent solutions), then everything to send.
            let mut closed = None;
            while let Some(event) = session.poll_event() {
                match &event {
                    WorkerEvent::Welcomed { .. } => {
                        welcomed = true;
                        for (job_id, nonce) in &self.unacked {
                            // Welcomed and open: submitting cannot fail here.
                            let _ = session.submit_solution(Instant::now(), *job_id, nonce.clone());
                        }
                    }
                    WorkerEvent::Verdict { job_id, nonce, .. } => {
                        self.unacked.retain(|(j, n)| !(j == job_id && n == nonce));
                    }
                    WorkerEvent::Closed(reason) => closed = Some(format!("{reason:?}")),
                    _ => {}
                }
                self.update(LinkUpdate::Event(event));
            }
            while let Some(frame) = session.poll_transmit() {
                if let Err(e) = sender.write(&frame).await {
                    return lost(e.to_string(), welcomed);
                }
            }
            if let Some(reason) = closed {
                sender.finish_and_wait(Duration::from_secs(1)).await;
                connection.close(0u32.into(), b"session closed");
                return lost(format!("session closed: {reason}"), welcomed);
            }
            let deadline = session
                .poll_timeout()
                .map_or_else(|| tokio::time::Instant::now() + idle_timeout, Into::into);
            tokio::select! {
                r = received.recv() => match r {
                    Some(Received::Bytes(bytes)) => session.handle(Instant::now(), &bytes),
                    Some(Received::Lost(e)) => return lost(e, welcomed),
                    Some(Received::Finished) | None => {
                        return lost("the link finished the stream".to_owned(), welcomed);
                    }
                },
                message = self.inbox.recv() => match message {
                    None => {
                        connection.close(0u32.into(), b"worker shutting down");
                        return SessionEnd::Shutdown;
                    }
                    Some(m) if !welcomed => self.take_offline(m),
                    Some(ToLink::Solution { job_id, nonce }) => {
                        self.unacked.push_back((job_id, nonce.clone()));
                        let _ = session.submit_solution(Instant::now(), job_id, nonce);
                    }
                    Some(ToLink::Result { batch_id, verdicts }) => {
                        if session.send_result(Instant::now(), batch_id, verdicts).is_err() {
                            self.update(LinkUpdate::ResultDropped { batch_id });
                        }
                    }
                    Some(ToLink::Stats { done, rate }) => session.send_stats(Instant::now(), done, rate),
                },
                () = tokio::time::sleep_until(deadline) => session.handle_timeout(Instant::now()),
                _ = self.shutdown.changed() => {
                    sender.finish_and_wait(Duration::from_millis(500)).await;
                    connection.close(0u32.into(), b"worker shutting down");
                    return SessionEnd::Shutdown;
                }
            }
        }
    }
}
