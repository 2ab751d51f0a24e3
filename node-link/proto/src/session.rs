//! The worker and link session state machines, sans-IO.
//!
//! Both take received bytes with [`WorkerSession::handle`] / [`LinkSession::handle`] and the
//! current time, and hand back:
//! - frames to send, from `poll_transmit` (call until `None` after every input),
//! - events, from `poll_event` (same),
//! - the next deadline, from `poll_timeout`; when it passes, call `handle_timeout`.
//!
//! Heartbeats go out every [`SessionConfig::heartbeat_interval`] without other traffic; a peer
//! silent for [`SessionConfig::idle_timeout`] closes the session. A message that the session's
//! state or role does not allow is a protocol violation: an Error frame goes out, the session
//! closes, and later input is ignored.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::codec::{Decoder, to_frame};
use crate::error::DecodeError;
use crate::message::{IdleReason, Message, PROTOCOL_VERSION, Role, SolutionVerdict, VerifyItem};

/// Timers of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// Send a heartbeat after this long without sending anything.
    pub heartbeat_interval: Duration,
    /// Close after this long without receiving anything.
    pub idle_timeout: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        // Heartbeats well inside the timeout: three may be lost before the session closes.
        Self {
            heartbeat_interval: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(20),
        }
    }
}

/// Why a session closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent bytes that are not a valid frame.
    Malformed(DecodeError),
    /// The peer sent a message its state or role does not allow.
    ProtocolViolation(String),
    /// The peer sent an Error message.
    PeerError {
        /// Its code.
        code: u16,
        /// Its message.
        message: String,
    },
    /// Nothing received for the idle timeout.
    TimedOut,
    /// Closed by this side's owner.
    Local,
}

/// Error codes of Error frames.
pub mod codes {
    /// A frame that does not decode.
    pub const MALFORMED: u16 = 1;
    /// A message the state or role does not allow.
    pub const PROTOCOL_VIOLATION: u16 = 2;
    /// An unsupported protocol version.
    pub const VERSION: u16 = 3;
}

/// What both sessions share: the byte stream, the queues and the timers.
#[derive(Debug)]
struct Core {
    config: SessionConfig,
    decoder: Decoder,
    outbox: VecDeque<Vec<u8>>,
    last_sent: Instant,
    last_received: Instant,
    closed: Option<CloseReason>,
    epoch: Instant,
}

impl Core {
    fn new(now: Instant, config: SessionConfig) -> Self {
        Self {
            config,
            decoder: Decoder::new(),
            outbox: VecDeque::new(),
            last_sent: now,
            last_received: now,
            closed: None,
            epoch: now,
        }
    }

    fn send(&mut self, now: Instant, message: &Message) {
        if self.closed.is_none() {
            self.outbox.push_back(to_frame(message));
            self.last_sent = now;
        }
    }

    /// Sends an Error frame and closes; returns the reason for the close event.
    fn fail(&mut self, now: Instant, code: u16, reason: CloseReason) -> CloseReason {
        let message = match &reason {
            CloseReason::Malformed(e) => e.to_string(),
            CloseReason::ProtocolViolation(m) => m.clone(),
            other => format!("{other:?}"),
        };
        self.send(now, &Message::Error { code, message });
        self.closed = Some(reason.clone());
        reason
    }

    /// Decodes received bytes into messages; stops at a malformed frame, which closes the
    /// session (with an Error frame to the peer) and is returned as the close reason.
    fn receive(&mut self, now: Instant, bytes: &[u8]) -> (Vec<Message>, Option<CloseReason>) {
        let mut messages = Vec::new();
        if self.closed.is_some() {
            return (messages, None);
        }
        self.last_received = now;
        self.decoder.push(bytes);
        loop {
            match self.decoder.next_message() {
                Ok(Some(m)) => messages.push(m),
                Ok(None) => return (messages, None),
                Err(e) => {
                    let reason = self.fail(now, codes::MALFORMED, CloseReason::Malformed(e));
                    return (messages, Some(reason));
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.closed.is_none().then(|| {
            (self.last_sent + self.config.heartbeat_interval)
                .min(self.last_received + self.config.idle_timeout)
        })
    }

    /// Heartbeats and the idle timeout; `Some` when the session closed.
    fn handle_timeout(&mut self, now: Instant) -> Option<CloseReason> {
        if self.closed.is_some() {
            return None;
        }
        if now >= self.last_received + self.config.idle_timeout {
            self.closed = Some(CloseReason::TimedOut);
            return Some(CloseReason::TimedOut);
        }
        if now >= self.last_sent + self.config.heartbeat_interval {
            let sent_at_ms =
                u64::try_from(now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
            self.send(now, &Message::Heartbeat { sent_at_ms });
        }
        None
    }
}

/// What a worker's session reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WorkerEvent {
    /// The link took the Hello: session id and nonce partition.
    Welcomed {
        /// Session id.
        session_id: u64,
        /// Every nonce of this worker starts with it.
        nonce_prefix: Vec<u8>,
    },
    /// A job (miners).
    Job {
        /// Job id.
        job_id: u64,
        /// Block height.
        block_height: u64,
        /// Challenge prefix.
        challenge_prefix: Vec<u8>,
        /// Minimum difficulty, IxiNumber bytes (two's-complement LE).
        min_difficulty_raw: Vec<u8>,
        /// Best already forwarded, IxiNumber bytes (two's-complement LE).
        best_difficulty_raw: Vec<u8>,
        /// Drop the current job at once.
        replace_now: bool,
    },
    /// The fate of a solution (miners).
    Verdict {
        /// Job id.
        job_id: u64,
        /// The nonce.
        nonce: Vec<u8>,
        /// Accepted or why not.
        verdict: SolutionVerdict,
        /// The difficulty the link computed, IxiNumber bytes (two's-complement LE).
        difficulty_raw: Vec<u8>,
    },
    /// Signatures to verify (verifiers).
    VerifyBatch {
        /// Batch id.
        batch_id: u64,
        /// Items.
        items: Vec<VerifyItem>,
    },
    /// No work for now.
    Idle {
        /// Why.
        reason: IdleReason,
        /// Details.
        detail: String,
    },
    /// The session is over.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WorkerState {
    AwaitingWelcome,
    Active,
}

/// A worker's side of the link.
#[derive(Debug)]
pub struct WorkerSession {
    core: Core,
    role: Role,
    state: WorkerState,
    events: VecDeque<WorkerEvent>,
}

impl WorkerSession {
    /// A session that opens with a Hello.
    #[must_use]
    pub fn new(
        now: Instant,
        config: SessionConfig,
        role: Role,
        worker_name: &str,
        backends: &[&str],
        measured_rate: f64,
    ) -> Self {
        let mut core = Core::new(now, config);
        core.send(
            now,
            &Message::Hello {
                role,
                protocol_version: PROTOCOL_VERSION,
                worker_name: worker_name.to_owned(),
                backends: backends.iter().map(|b| (*b).to_owned()).collect(),
                measured_rate,
            },
        );
        Self {
            core,
            role,
            state: WorkerState::AwaitingWelcome,
            events: VecDeque::new(),
        }
    }

    /// Feeds received bytes. Call `poll_transmit` and `poll_event` after it.
    pub fn handle(&mut self, now: Instant, bytes: &[u8]) {
        let (messages, malformed) = self.core.receive(now, bytes);
        for message in messages {
            if self.core.closed.is_some() {
                return;
            }
            self.on_message(now, message);
        }
        if let Some(reason) = malformed {
            self.events.push_back(WorkerEvent::Closed(reason));
        }
    }

    fn violation(&mut self, now: Instant, what: &str) {
        let reason = self.core.fail(
            now,
            codes::PROTOCOL_VIOLATION,
            CloseReason::ProtocolViolation(what.to_owned()),
        );
        self.events.push_back(WorkerEvent::Closed(reason));
    }

    fn on_message(&mut self, now: Instant, message: Message) {
        let active = self.state == WorkerState::Active;
        let event = match message {
            Message::Welcome {
                session_id,
                nonce_prefix,
            } if !active => {
                self.state = WorkerState::Active;
                WorkerEvent::Welcomed {
                    session_id,
                    nonce_prefix,
                }
            }
            Message::Job {
                job_id,
                block_height,
                challenge_prefix,
                min_difficulty_raw,
                best_difficulty_raw,
                replace_now,
            } if active && self.role == Role::Miner => WorkerEvent::Job {
                job_id,
                block_height,
                challenge_prefix,
                min_difficulty_raw,
                best_difficulty_raw,
                replace_now,
            },
            Message::SolutionVerdict {
                job_id,
                nonce,
                verdict,
                difficulty_raw,
            } if active && self.role == Role::Miner => WorkerEvent::Verdict {
                job_id,
                nonce,
                verdict,
                difficulty_raw,
            },
            Message::VerifyBatch { batch_id, items } if active && self.role == Role::Verifier => {
                WorkerEvent::VerifyBatch { batch_id, items }
            }
            Message::Idle { reason, detail } if active => WorkerEvent::Idle { reason, detail },
            Message::Heartbeat { .. } => return,
            Message::Error { code, message } => {
                let reason = CloseReason::PeerError { code, message };
                self.core.closed = Some(reason.clone());
                WorkerEvent::Closed(reason)
            }
            other => {
                return self.violation(now, &format!("unexpected {} from the link", name(&other)));
            }
        };
        self.events.push_back(event);
    }

    /// Sends a solution (miners, once welcomed).
    ///
    /// # Errors
    /// `Err` with the reason when the session cannot send it (not welcomed, not a miner, closed).
    pub fn submit_solution(
        &mut self,
        now: Instant,
        job_id: u64,
        nonce: Vec<u8>,
    ) -> Result<(), &'static str> {
        self.ready(Role::Miner)?;
        self.core.send(now, &Message::Solution { job_id, nonce });
        Ok(())
    }

    /// Sends a batch's verdicts (verifiers, once welcomed).
    ///
    /// # Errors
    /// As [`WorkerSession::submit_solution`].
    pub fn send_result(
        &mut self,
        now: Instant,
        batch_id: u64,
        verdicts: Vec<bool>,
    ) -> Result<(), &'static str> {
        self.ready(Role::Verifier)?;
        self.core
            .send(now, &Message::VerifyResult { batch_id, verdicts });
        Ok(())
    }

    /// Sends counters for the link's status display.
    pub fn send_stats(&mut self, now: Instant, done: u64, rate: f64) {
        if self.state == WorkerState::Active {
            self.core.send(now, &Message::Stats { done, rate });
        }
    }

    fn ready(&self, role: Role) -> Result<(), &'static str> {
        if self.core.closed.is_some() {
            Err("session closed")
        } else if self.state != WorkerState::Active {
            Err("not welcomed yet")
        } else if self.role != role {
            Err("wrong role for this message")
        } else {
            Ok(())
        }
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.core.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<WorkerEvent> {
        self.events.pop_front()
    }

    /// When [`WorkerSession::handle_timeout`] is due next; `None` once closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// Sends heartbeats and closes after the idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(reason) = self.core.handle_timeout(now) {
            self.events.push_back(WorkerEvent::Closed(reason));
        }
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.core.closed.is_some()
    }
}

/// What the link's session with one worker reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum LinkEvent {
    /// A worker introduced itself; answer with [`LinkSession::welcome`].
    Hello {
        /// Miner or verifier.
        role: Role,
        /// Its name.
        worker_name: String,
        /// Its backends.
        backends: Vec<String>,
        /// Its measured rate.
        measured_rate: f64,
    },
    /// A miner's solution.
    Solution {
        /// Job id.
        job_id: u64,
        /// The nonce.
        nonce: Vec<u8>,
    },
    /// A verifier's verdicts.
    VerifyResult {
        /// Batch id.
        batch_id: u64,
        /// One per item.
        verdicts: Vec<bool>,
    },
    /// A worker's counters.
    Stats {
        /// Done since the session began.
        done: u64,
        /// Current rate.
        rate: f64,
    },
    /// The session is over.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    AwaitingHello,
    /// Hello received; the owner has not welcomed yet.
    Greeted(Role),
    Active(Role),
}

/// The link's side of one worker's connection.
#[derive(Debug)]
pub struct LinkSession {
    core: Core,
    state: LinkState,
    events: VecDeque<LinkEvent>,
}

impl LinkSession {
    /// A session waiting for the worker's Hello.
    #[must_use]
    pub fn new(now: Instant, config: SessionConfig) -> Self {
        Self {
            core: Core::new(now, config),
            state: LinkState::AwaitingHello,
            events: VecDeque::new(),
        }
    }

    /// Feeds received bytes. Call `poll_transmit` and `poll_event` after it.
    pub fn handle(&mut self, now: Instant, bytes: &[u8]) {
        let (messages, malformed) = self.core.receive(now, bytes);
        for message in messages {
            if self.core.closed.is_some() {
                return;
            }
            self.on_message(now, message);
        }
        if let Some(reason) = malformed {
            self.events.push_back(LinkEvent::Closed(reason));
        }
    }

    fn fail_with(&mut self, now: Instant, code: u16, what: String) {
        let reason = self
            .core
            .fail(now, code, CloseReason::ProtocolViolation(what));
        self.events.push_back(LinkEvent::Closed(reason));
    }

    fn on_message(&mut self, now: Instant, message: Message) {
        let role = match self.state {
            LinkState::Active(r) => Some(r),
            _ => None,
        };
        let event = match message {
            Message::Hello {
                role: hello_role,
                protocol_version,
                worker_name,
                backends,
                measured_rate,
            } if self.state == LinkState::AwaitingHello => {
                if protocol_version != PROTOCOL_VERSION {
                    return self.fail_with(
                        now,
                        codes::VERSION,
                        format!("protocol version {protocol_version}, this link speaks {PROTOCOL_VERSION}"),
                    );
                }
                self.state = LinkState::Greeted(hello_role);
                LinkEvent::Hello {
                    role: hello_role,
                    worker_name,
                    backends,
                    measured_rate,
                }
            }
            Message::Solution { job_id, nonce } if role == Some(Role::Miner) => {
                LinkEvent::Solution { job_id, nonce }
            }
            Message::VerifyResult { batch_id, verdicts } if role == Some(Role::Verifier) => {
                LinkEvent::VerifyResult { batch_id, verdicts }
            }
            Message::Stats { done, rate } if role.is_some() => LinkEvent::Stats { done, rate },
            Message::Heartbeat { .. } => return,
            Message::Error { code, message } => {
                let reason = CloseReason::PeerError { code, message };
                self.core.closed = Some(reason.clone());
                LinkEvent::Closed(reason)
            }
            other => {
                return self.fail_with(
                    now,
                    codes::PROTOCOL_VIOLATION,
                    format!("unexpected {} from the worker", name(&other)),
                );
            }
        };
        self.events.push_back(event);
    }

    /// Answers a Hello: the session id and the worker's nonce partition.
    ///
    /// # Errors
    /// `Err` when no Hello is waiting or the session is closed.
    pub fn welcome(
        &mut self,
        now: Instant,
        session_id: u64,
        nonce_prefix: Vec<u8>,
    ) -> Result<(), &'static str> {
        self.send(
            now,
            Message::Welcome {
                session_id,
                nonce_prefix,
            },
        )
    }

    /// The worker's role, once welcomed.
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        match self.state {
            LinkState::Active(r) => Some(r),
            _ => None,
        }
    }

    fn ready(&self, role: Role) -> Result<(), &'static str> {
        if self.core.closed.is_some() {
            Err("session closed")
        } else if self.role() != Some(role) {
            Err("worker not welcomed with this role")
        } else {
            Ok(())
        }
    }

    /// Sends a job to a miner.
    ///
    /// # Errors
    /// `Err` unless the session is an active miner session.
    #[allow(clippy::too_many_arguments)]
    pub fn send_job(
        &mut self,
        now: Instant,
        job_id: u64,
        block_height: u64,
        challenge_prefix: Vec<u8>,
        min_difficulty_raw: Vec<u8>,
        best_difficulty_raw: Vec<u8>,
        replace_now: bool,
    ) -> Result<(), &'static str> {
        self.send(
            now,
            Message::Job {
                job_id,
                block_height,
                challenge_prefix,
                min_difficulty_raw,
                best_difficulty_raw,
                replace_now,
            },
        )
    }

    /// Tells a miner what became of a solution.
    ///
    /// # Errors
    /// `Err` unless the session is an active miner session.
    pub fn send_verdict(
        &mut self,
        now: Instant,
        job_id: u64,
        nonce: Vec<u8>,
        verdict: SolutionVerdict,
        difficulty_raw: Vec<u8>,
    ) -> Result<(), &'static str> {
        self.send(
            now,
            Message::SolutionVerdict {
                job_id,
                nonce,
                verdict,
                difficulty_raw,
            },
        )
    }

    /// Sends signatures to a verifier.
    ///
    /// # Errors
    /// `Err` unless the session is an active verifier session.
    pub fn send_verify_batch(
        &mut self,
        now: Instant,
        batch_id: u64,
        items: Vec<VerifyItem>,
    ) -> Result<(), &'static str> {
        self.send(now, Message::VerifyBatch { batch_id, items })
    }

    /// Sends any message the link may send (Welcome, Job, SolutionVerdict, VerifyBatch, Idle),
    /// with the same checks as the specific methods.
    ///
    /// # Errors
    /// `Err` when the state or the worker's role does not allow it, or for a message only
    /// workers send.
    pub fn send(&mut self, now: Instant, message: Message) -> Result<(), &'static str> {
        match &message {
            Message::Welcome { .. } => {
                let LinkState::Greeted(role) = self.state else {
                    return Err("no Hello is waiting for a Welcome");
                };
                if self.core.closed.is_some() {
                    return Err("session closed");
                }
                self.state = LinkState::Active(role);
            }
            Message::Job { .. } | Message::SolutionVerdict { .. } => self.ready(Role::Miner)?,
            Message::VerifyBatch { .. } => self.ready(Role::Verifier)?,
            Message::Idle { .. } if self.role().is_some() && self.core.closed.is_none() => {}
            Message::Idle { .. } => return Err("worker not welcomed"),
            _ => return Err("only workers send this message"),
        }
        self.core.send(now, &message);
        Ok(())
    }

    /// Tells a welcomed worker there is no work, and why.
    ///
    /// # Errors
    /// `Err` unless the session is active.
    pub fn send_idle(
        &mut self,
        now: Instant,
        reason: IdleReason,
        detail: String,
    ) -> Result<(), &'static str> {
        self.send(now, Message::Idle { reason, detail })
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.core.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<LinkEvent> {
        self.events.pop_front()
    }

    /// When [`LinkSession::handle_timeout`] is due next; `None` once closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// Sends heartbeats and closes after the idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(reason) = self.core.handle_timeout(now) {
            self.events.push_back(LinkEvent::Closed(reason));
        }
    }

    /// Closes the session with an Error frame telling the worker what it did wrong.
    pub fn fail(&mut self, now: Instant, message: String) {
        if self.core.closed.is_none() {
            self.fail_with(now, codes::PROTOCOL_VIOLATION, message);
        }
    }

    /// Closes the session from this side (an Error frame is not sent).
    pub fn close(&mut self) {
        if self.core.closed.is_none() {
            self.core.closed = Some(CloseReason::Local);
            self.events.push_back(LinkEvent::Closed(CloseReason::Local));
        }
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.core.closed.is_some()
    }
}

fn name(message: &Message) -> &'static str {
    match message {
        Message::Hello { .. } => "Hello",
        Message::Welcome { .. } => "Welcome",
        Message::Job { .. } => "Job",
        Message::Solution { .. } => "Solution",
        Message::SolutionVerdict { .. } => "SolutionVerdict",
        Message::VerifyBatch { .. } => "VerifyBatch",
        Message::VerifyResult { .. } => "VerifyResult",
        Message::Idle { .. } => "Idle",
        Message::Heartbeat { .. } => "Heartbeat",
        Message::Stats { .. } => "Stats",
        Message::Error { .. } => "Error",
    }
}
