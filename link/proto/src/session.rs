//! The session state machine, sans-IO: one type for both sides of a connection.
//!
//! A [`Session`] takes received bytes with [`Session::handle`] and the current time, and hands
//! back:
//! - frames to send, from [`Session::poll_transmit`] (call until `None` after every input),
//! - events, from [`Session::poll_event`] (same),
//! - the next deadline, from [`Session::poll_timeout`]; when it passes, call
//!   [`Session::handle_timeout`].
//!
//! Every message received or sent is checked against its [`Policy`](crate::message::Policy)
//! in the message table: who sends it, which worker role it concerns, and whether it belongs
//! to the handshake (a worker's Hello, the link's Welcome) or to a welcomed session. A message
//! received against the policy is a protocol violation: an Error frame goes out, the session
//! closes, and later input is ignored. A message sent against it is refused with a
//! [`SendError`].
//!
//! Heartbeats go out every [`SessionConfig::heartbeat_interval`] without other traffic; a peer
//! silent for [`SessionConfig::idle_timeout`] closes the session.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::codec::{Decoder, to_frame};
use crate::error::{DecodeError, SendError};
use crate::message::{
    Audience, ErrorMessage, Heartbeat, Hello, Message, PROTOCOL_VERSION, Phase, Role, Sender,
};

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
        // A dead peer is noticed within 5 s; heartbeats well inside the timeout, so that three
        // may be lost before the session closes.
        Self {
            heartbeat_interval: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(4),
        }
    }
}

/// Why a session closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent bytes that are not a valid frame.
    Malformed(DecodeError),
    /// The peer sent a message its state or role does not allow, or this side's owner failed
    /// the session ([`Session::fail`]).
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

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "malformed frame: {e}"),
            Self::ProtocolViolation(what) => write!(f, "protocol violation: {what}"),
            Self::PeerError { code, message } => write!(f, "peer error {code}: {message}"),
            Self::TimedOut => f.write_str("nothing received within the idle timeout"),
            Self::Local => f.write_str("closed by this side"),
        }
    }
}

/// Error codes of Error messages.
pub mod codes {
    /// A frame that does not decode.
    pub const MALFORMED: u16 = 1;
    /// A message the state or role does not allow.
    pub const PROTOCOL_VIOLATION: u16 = 2;
    /// An unsupported protocol version.
    pub const VERSION: u16 = 3;
}

/// Which end of the connection a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A miner or verifier.
    Worker,
    /// The link.
    Link,
}

impl Side {
    /// The name for messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Link => "link",
        }
    }

    fn peer(self) -> Self {
        match self {
            Self::Worker => Self::Link,
            Self::Link => Self::Worker,
        }
    }

    fn sends(self, sender: Sender) -> bool {
        matches!(
            (sender, self),
            (Sender::Either, _) | (Sender::Worker, Side::Worker) | (Sender::Link, Side::Link)
        )
    }
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A message the policy allows, for the owner to act on: on the link a Hello (answer it
    /// with a [`Welcome`](crate::Welcome)), on a worker the Welcome, then the work messages.
    /// Heartbeats and Error messages are the session's own.
    Message(Message),
    /// The session is over.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The link waits for the worker's Hello.
    AwaitingHello,
    /// The worker sent its Hello for this role and waits for the Welcome.
    AwaitingWelcome(Role),
    /// The link has the Hello and has not welcomed yet.
    Greeted(Role),
    /// Welcomed.
    Active(Role),
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            Self::AwaitingHello => "before the worker's Hello",
            Self::AwaitingWelcome(_) => "before the link's Welcome",
            Self::Greeted(_) => "before the Welcome is sent",
            Self::Active(_) => "once the worker is welcomed",
        }
    }
}

/// One side of the link protocol on one connection.
#[derive(Debug)]
pub struct Session {
    side: Side,
    state: State,
    config: SessionConfig,
    decoder: Decoder,
    outbox: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    last_sent: Instant,
    last_received: Instant,
    closed: Option<CloseReason>,
    epoch: Instant,
}

impl Session {
    fn new(side: Side, state: State, now: Instant, config: SessionConfig) -> Self {
        Self {
            side,
            state,
            config,
            decoder: Decoder::new(),
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            last_sent: now,
            last_received: now,
            closed: None,
            epoch: now,
        }
    }

    /// A worker's session; it opens with `hello`.
    #[must_use]
    pub fn worker(now: Instant, config: SessionConfig, hello: Hello) -> Self {
        let mut session = Self::new(
            Side::Worker,
            State::AwaitingWelcome(hello.role),
            now,
            config,
        );
        session.push(now, &Message::Hello(hello));
        session
    }

    /// The link's session with one worker, waiting for its Hello.
    #[must_use]
    pub fn link(now: Instant, config: SessionConfig) -> Self {
        Self::new(Side::Link, State::AwaitingHello, now, config)
    }

    /// Which end this session is.
    #[must_use]
    pub fn side(&self) -> Side {
        self.side
    }

    /// The worker's role, once welcomed.
    #[must_use]
    pub fn role(&self) -> Option<Role> {
        match self.state {
            State::Active(role) => Some(role),
            _ => None,
        }
    }

    /// Whether the session is over.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Why the session is over, once it is.
    #[must_use]
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.closed.as_ref()
    }

    /// Queues a frame (nothing once closed).
    fn push(&mut self, now: Instant, message: &Message) {
        if self.closed.is_none() {
            self.outbox.push_back(to_frame(message));
            self.last_sent = now;
        }
    }

    /// Closes, with the event for the owner.
    fn close_with(&mut self, reason: CloseReason) {
        if self.closed.is_none() {
            self.closed = Some(reason.clone());
            self.events.push_back(Event::Closed(reason));
        }
    }

    /// Sends an Error message and closes.
    fn fail_with(&mut self, now: Instant, code: u16, reason: CloseReason) {
        if self.closed.is_some() {
            return;
        }
        let message = match &reason {
            CloseReason::Malformed(e) => e.to_string(),
            CloseReason::ProtocolViolation(m) => m.clone(),
            other => other.to_string(),
        };
        self.push(now, &Message::ErrorMessage(ErrorMessage { code, message }));
        self.close_with(reason);
    }

    /// Feeds received bytes. Call `poll_transmit` and `poll_event` after it.
    pub fn handle(&mut self, now: Instant, bytes: &[u8]) {
        if self.closed.is_some() {
            return;
        }
        self.last_received = now;
        self.decoder.push(bytes);
        while self.closed.is_none() {
            match self.decoder.next_message() {
                Ok(Some(message)) => self.receive(now, message),
                Ok(None) => return,
                Err(e) => self.fail_with(now, codes::MALFORMED, CloseReason::Malformed(e)),
            }
        }
    }

    fn receive(&mut self, now: Instant, message: Message) {
        if let Err(what) = self.admit(&message) {
            return self.fail_with(
                now,
                codes::PROTOCOL_VIOLATION,
                CloseReason::ProtocolViolation(what),
            );
        }
        match &message {
            Message::Heartbeat(_) => return,
            Message::ErrorMessage(e) => {
                return self.close_with(CloseReason::PeerError {
                    code: e.code,
                    message: e.message.clone(),
                });
            }
            Message::Hello(hello) => {
                if hello.protocol_version != PROTOCOL_VERSION {
                    let what = format!(
                        "protocol version {}, this link speaks {PROTOCOL_VERSION}",
                        hello.protocol_version
                    );
                    return self.fail_with(
                        now,
                        codes::VERSION,
                        CloseReason::ProtocolViolation(what),
                    );
                }
                self.state = State::Greeted(hello.role);
            }
            Message::Welcome(_) => {
                if let State::AwaitingWelcome(role) = self.state {
                    self.state = State::Active(role);
                }
            }
            _ => {}
        }
        self.events.push_back(Event::Message(message));
    }

    /// Whether the peer may send `message` now; the violation otherwise.
    fn admit(&self, message: &Message) -> Result<(), String> {
        let policy = message.policy();
        let peer = self.side.peer();
        let unexpected = || format!("unexpected {} from the {}", message.name(), peer.as_str());
        if !peer.sends(policy.sender) {
            return Err(unexpected());
        }
        let allowed = match (policy.phase, message, self.state) {
            (Phase::Always, ..) => true,
            (Phase::Handshake, Message::Hello(_), State::AwaitingHello)
            | (Phase::Handshake, Message::Welcome(_), State::AwaitingWelcome(_)) => true,
            (Phase::Handshake, ..) => false,
            (Phase::Active, _, State::Active(role)) => concerns(policy.audience, role),
            (Phase::Active, ..) => false,
        };
        if allowed { Ok(()) } else { Err(unexpected()) }
    }

    /// Sends a message this side may send now: on the link a Welcome answers the Hello; the
    /// work messages of the table follow once the worker is welcomed.
    ///
    /// # Errors
    /// [`SendError`] naming what the policy or the session's state does not allow; nothing is
    /// sent then.
    pub fn send(&mut self, now: Instant, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        if self.closed.is_some() {
            return Err(SendError::Closed);
        }
        let policy = message.policy();
        let name = message.name();
        if !self.side.sends(policy.sender) {
            return Err(SendError::WrongSide {
                message: name,
                side: self.side.as_str(),
            });
        }
        let out_of_phase = SendError::OutOfPhase {
            message: name,
            when: self.state.describe(),
        };
        match (policy.phase, &message, self.state) {
            (Phase::Always, ..) => {}
            (Phase::Handshake, Message::Welcome(_), State::Greeted(role)) => {
                self.state = State::Active(role);
            }
            (Phase::Handshake, ..) => return Err(out_of_phase),
            (Phase::Active, _, State::Active(role)) => {
                if !concerns(policy.audience, role) {
                    let Audience::Only(wanted) = policy.audience else {
                        return Err(out_of_phase);
                    };
                    return Err(SendError::WrongRole {
                        message: name,
                        wanted: wanted.as_str(),
                        actual: role.as_str(),
                    });
                }
            }
            (Phase::Active, ..) => return Err(out_of_phase),
        }
        self.push(now, &message);
        Ok(())
    }

    /// Closes the session with an Error message telling the peer what it did wrong.
    pub fn fail(&mut self, now: Instant, message: String) {
        self.fail_with(
            now,
            codes::PROTOCOL_VIOLATION,
            CloseReason::ProtocolViolation(message),
        );
    }

    /// Closes the session from this side (no Error message is sent).
    pub fn close(&mut self) {
        self.close_with(CloseReason::Local);
    }

    /// The next frame to send.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.outbox.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] is due next; `None` once closed.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.closed.is_none().then(|| {
            (self.last_sent + self.config.heartbeat_interval)
                .min(self.last_received + self.config.idle_timeout)
        })
    }

    /// Sends heartbeats, and closes after the idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        if now >= self.last_received + self.config.idle_timeout {
            return self.close_with(CloseReason::TimedOut);
        }
        if now >= self.last_sent + self.config.heartbeat_interval {
            let sent_at_ms =
                u64::try_from(now.duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX);
            self.push(now, &Message::Heartbeat(Heartbeat { sent_at_ms }));
        }
    }
}

/// Whether a message for `audience` concerns a worker of `role`.
fn concerns(audience: Audience, role: Role) -> bool {
    match audience {
        Audience::Any => true,
        Audience::Only(r) => r == role,
    }
}
