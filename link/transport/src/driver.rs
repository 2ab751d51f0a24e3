//! Runs a protocol [`Session`] on a connection's stream: the one pump that both the link (one
//! session per worker) and every worker use.
//!
//! The driver moves bytes between the stream and the session, fires the session's timers, and
//! hands the session's events to its owner and the owner's inputs to the session. What a side
//! *does* with a message lives in its [`SessionOwner`], never here.

use std::future::Future;
use std::time::{Duration, Instant};

use ixi_link_proto::{CloseReason, Event, Session};

use crate::transport::{CloseCode, FramedStream, Received, TransportError, close};

/// The side of a session that acts on it: the link's connection task or a worker's client.
pub trait SessionOwner: Send {
    /// What the owner's other tasks hand to the session (messages to send, a failure).
    type Input: Send;

    /// The next input; `None` ends the session politely (the owner is shutting down). Must be
    /// cancel-safe: the driver drops it whenever bytes or a timer come first.
    fn next_input(&mut self) -> impl Future<Output = Option<Self::Input>> + Send;

    /// Applies an input to the session (typically [`Session::send`]).
    fn on_input(&mut self, session: &mut Session, now: Instant, input: Self::Input);

    /// Acts on a session event (a message that passed the session's checks, or the close).
    fn on_event(&mut self, session: &mut Session, now: Instant, event: Event);
}

/// How a driven session ended.
#[derive(Debug, thiserror::Error)]
pub enum SessionEnd {
    /// The session closed itself: a protocol violation, the peer's Error message, silence.
    #[error("session closed: {0}")]
    Closed(CloseReason),
    /// The connection broke or the peer finished its stream.
    #[error("{0}")]
    Lost(TransportError),
    /// The owner ended it ([`SessionOwner::next_input`] returned `None`).
    #[error("shut down")]
    Shutdown,
}

/// How long a last frame (an Error message, the final results) may take to reach the peer
/// before the connection is closed anyway.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Runs `session` on `stream` until it ends; closes `connection` with the matching
/// [`CloseCode`] when the session or the owner ends it.
pub async fn drive<O: SessionOwner>(
    connection: &quinn::Connection,
    stream: FramedStream,
    mut session: Session,
    owner: &mut O,
) -> SessionEnd {
    let (mut sender, mut received) = stream.into_split();
    loop {
        while let Some(event) = session.poll_event() {
            owner.on_event(&mut session, Instant::now(), event);
        }
        while let Some(frame) = session.poll_transmit() {
            if let Err(e) = sender.write(&frame).await {
                return SessionEnd::Lost(e);
            }
        }
        if let Some(reason) = session.close_reason().cloned() {
            sender.finish_and_wait(CLOSE_GRACE).await;
            close(connection, CloseCode::SessionClosed, &reason.to_string());
            return SessionEnd::Closed(reason);
        }
        // Closed sessions returned above: there is always a deadline.
        let deadline = session
            .poll_timeout()
            .map_or_else(tokio::time::Instant::now, Into::into);
        tokio::select! {
            r = received.recv() => match r {
                Some(Received::Bytes(bytes)) => session.handle(Instant::now(), &bytes),
                Some(Received::Lost(e)) => return SessionEnd::Lost(e.into()),
                Some(Received::Finished) | None => {
                    return SessionEnd::Lost(TransportError::Finished);
                }
            },
            input = owner.next_input() => match input {
                Some(input) => owner.on_input(&mut session, Instant::now(), input),
                None => {
                    sender.finish_and_wait(CLOSE_GRACE / 2).await;
                    close(connection, CloseCode::Shutdown, "shutting down");
                    return SessionEnd::Shutdown;
                }
            },
            () = tokio::time::sleep_until(deadline) => session.handle_timeout(Instant::now()),
        }
    }
}
