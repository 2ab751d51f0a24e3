//! QUIC endpoints, the framed stream a session runs on, and the close codes of a connection.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use ixi_link_proto::codec::Decoder;
use ixi_link_proto::{DecodeError, Message, codec};

use crate::identity::{AuthorizedPins, Identity, Pin};
use crate::tls::{self, SERVER_NAME, TlsError};

/// Why a connection closes: the QUIC application close code each side sends, with a reason
/// text for the operator beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// The sender is shutting down.
    Shutdown,
    /// The session ended on a protocol error or a timeout (an Error message said which).
    SessionClosed,
    /// The worker's pin is not authorized by the link.
    NotAuthorized,
    /// The connection gave no client certificate or opened no session stream in time.
    NoSession,
}

impl CloseCode {
    const ALL: [CloseCode; 4] = [
        Self::Shutdown,
        Self::SessionClosed,
        Self::NotAuthorized,
        Self::NoSession,
    ];

    /// The code on the wire.
    #[must_use]
    pub fn code(self) -> u32 {
        match self {
            Self::Shutdown => 0,
            Self::SessionClosed => 1,
            Self::NotAuthorized => 2,
            Self::NoSession => 3,
        }
    }

    /// The close code a wire code stands for, if this build knows it.
    #[must_use]
    pub fn from_code(code: u64) -> Option<Self> {
        Self::ALL.into_iter().find(|c| u64::from(c.code()) == code)
    }

    /// What it means, for logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shutdown => "shutting down",
            Self::SessionClosed => "session closed",
            Self::NotAuthorized => "not authorized by the link",
            Self::NoSession => "no session",
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Closes `connection` with `code` and a reason text (cut to what fits a close frame).
pub fn close(connection: &quinn::Connection, code: CloseCode, reason: &str) {
    const MAX_REASON: usize = 512;
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    connection.close(code.code().into(), &reason.as_bytes()[..end]);
}

/// How a connection ended, as the local side saw it: the peer's close code and reason when it
/// closed the connection itself.
fn describe_connection_error(e: &quinn::ConnectionError) -> String {
    match e {
        quinn::ConnectionError::ApplicationClosed(close) => {
            let reason = String::from_utf8_lossy(&close.reason);
            match CloseCode::from_code(close.error_code.into_inner()) {
                Some(code) if reason.is_empty() => format!("closed by the peer: {code}"),
                Some(code) => format!("closed by the peer: {code}: {reason}"),
                None => format!(
                    "closed by the peer (code {}): {reason}",
                    close.error_code.into_inner()
                ),
            }
        }
        other => other.to_string(),
    }
}

/// TLS's `access_denied` alert: what the link's handshake sends a worker whose pin it does not
/// serve.
const ACCESS_DENIED_ALERT: u8 = 49;

/// The close code the peer sent, when it closed the connection itself; a handshake refused for
/// the worker's pin counts as [`CloseCode::NotAuthorized`].
#[must_use]
pub fn peer_close_code(e: &quinn::ConnectionError) -> Option<CloseCode> {
    match e {
        quinn::ConnectionError::ApplicationClosed(close) => {
            CloseCode::from_code(close.error_code.into_inner())
        }
        quinn::ConnectionError::ConnectionClosed(close)
            if close.error_code == quinn::TransportErrorCode::crypto(ACCESS_DENIED_ALERT) =>
        {
            Some(CloseCode::NotAuthorized)
        }
        _ => None,
    }
}

/// Why a connection or stream failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Building the TLS/QUIC configuration failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding a socket failed.
    #[error("cannot bind {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The connection could not be started.
    #[error("cannot connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed, timed out or was closed (by the peer, with its reason).
    #[error("{}", describe_connection_error(.0))]
    Connection(#[from] quinn::ConnectionError),
    /// Writing to the stream failed.
    #[error("stream write failed: {0}")]
    Write(#[from] quinn::WriteError),
    /// Reading from the stream failed.
    #[error("stream read failed: {0}")]
    Read(#[from] quinn::ReadError),
    /// The peer finished its side of the stream.
    #[error("the peer finished its stream")]
    Finished,
    /// The peer sent bytes that are not a frame.
    #[error("malformed frame from the peer: {0}")]
    Malformed(#[from] DecodeError),
}

impl TransportError {
    /// The close code the peer sent, when it closed the connection itself.
    #[must_use]
    pub fn peer_close_code(&self) -> Option<CloseCode> {
        match self {
            Self::Connection(e)
            | Self::Write(quinn::WriteError::ConnectionLost(e))
            | Self::Read(quinn::ReadError::ConnectionLost(e)) => peer_close_code(e),
            _ => None,
        }
    }
}

/// The link's listening endpoint, serving the pins in `authorized`.
///
/// # Errors
/// [`TransportError`] for a configuration or bind failure.
pub fn listen(
    addr: SocketAddr,
    identity: &Identity,
    authorized: Arc<RwLock<AuthorizedPins>>,
) -> Result<quinn::Endpoint, TransportError> {
    let config = tls::server_config(identity, authorized)?;
    quinn::Endpoint::server(config, addr).map_err(|source| TransportError::Bind { addr, source })
}

/// Connects a worker to the link at `addr` whose pin is `link_pin`.
///
/// # Errors
/// [`TransportError::Connection`] when the handshake fails (wrong pin, unauthorized worker,
/// nothing listening), or a configuration/bind error.
pub async fn connect(
    addr: SocketAddr,
    identity: &Identity,
    link_pin: Pin,
) -> Result<quinn::Connection, TransportError> {
    let bind: SocketAddr = if addr.is_ipv6() {
        SocketAddr::from(([0u16; 8], 0))
    } else {
        SocketAddr::from(([0u8; 4], 0))
    };
    let mut endpoint = quinn::Endpoint::client(bind)
        .map_err(|source| TransportError::Bind { addr: bind, source })?;
    endpoint.set_default_client_config(tls::client_config(identity, link_pin)?);
    Ok(endpoint.connect(addr, SERVER_NAME)?.await?)
}

/// A bidirectional stream carrying protocol frames.
pub struct FramedStream {
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    decoder: Decoder,
    buffer: Vec<u8>,
}

impl FramedStream {
    /// Opens the session stream (worker side).
    ///
    /// # Errors
    /// [`TransportError::Connection`] if the connection is gone.
    pub async fn open(connection: &quinn::Connection) -> Result<Self, TransportError> {
        let (send, recv) = connection.open_bi().await?;
        Ok(Self::new(send, recv))
    }

    /// Accepts the session stream (link side).
    ///
    /// # Errors
    /// [`TransportError::Connection`] if the connection is gone.
    pub async fn accept(connection: &quinn::Connection) -> Result<Self, TransportError> {
        let (send, recv) = connection.accept_bi().await?;
        Ok(Self::new(send, recv))
    }

    fn new(send: quinn::SendStream, recv: quinn::RecvStream) -> Self {
        Self {
            send,
            recv,
            decoder: Decoder::new(),
            buffer: vec![0u8; 64 * 1024],
        }
    }

    /// Writes raw frame bytes (as produced by a session's `poll_transmit`).
    ///
    /// # Errors
    /// [`TransportError::Write`].
    pub async fn write(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        Ok(self.send.write_all(frame).await?)
    }

    /// Writes one message.
    ///
    /// # Errors
    /// [`TransportError::Write`].
    pub async fn send(&mut self, message: &Message) -> Result<(), TransportError> {
        self.write(&codec::to_frame(message)).await
    }

    /// Reads whatever bytes arrive next; `None` when the peer finished the stream.
    ///
    /// # Errors
    /// [`TransportError::Read`].
    pub async fn read_chunk(&mut self) -> Result<Option<&[u8]>, TransportError> {
        match self.recv.read(&mut self.buffer).await? {
            Some(n) => Ok(Some(&self.buffer[..n])),
            None => Ok(None),
        }
    }

    /// Reads the next whole message; `None` when the peer finished the stream.
    ///
    /// # Errors
    /// [`TransportError::Read`] or [`TransportError::Malformed`].
    pub async fn recv(&mut self) -> Result<Option<Message>, TransportError> {
        loop {
            if let Some(m) = self.decoder.next_message()? {
                return Ok(Some(m));
            }
            let n = match self.recv.read(&mut self.buffer).await? {
                Some(n) => n,
                None => return Ok(None),
            };
            self.decoder.push(&self.buffer[..n]);
        }
    }

    /// Finishes the sending side.
    pub fn finish(&mut self) {
        // Already finished or reset: nothing left to do.
        let _ = self.send.finish();
    }

    /// Splits the stream for a driver loop: frames go out through the returned sender; what
    /// arrives is read by a task of its own and handed over as [`Received`] chunks, so the loop
    /// can wait on it next to timers and other channels. The channel holds at most 16 chunks
    /// of at most 64 KiB: a peer that sends faster waits on QUIC flow control.
    #[must_use]
    pub fn into_split(self) -> (FrameSender, tokio::sync::mpsc::Receiver<Received>) {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let mut recv = self.recv;
        let mut buffer = self.buffer;
        tokio::spawn(async move {
            loop {
                let received = match recv.read(&mut buffer).await {
                    Ok(Some(n)) => Received::Bytes(buffer[..n].to_vec()),
                    Ok(None) => Received::Finished,
                    Err(e) => Received::Lost(e),
                };
                let done = !matches!(received, Received::Bytes(_));
                if tx.send(received).await.is_err() || done {
                    return;
                }
            }
        });
        (FrameSender { send: self.send }, rx)
    }
}

/// What the reading half of a split stream reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Bytes, in order.
    Bytes(Vec<u8>),
    /// The peer finished its side.
    Finished,
    /// The connection or stream broke.
    Lost(quinn::ReadError),
}

/// The sending half of a split stream.
pub struct FrameSender {
    send: quinn::SendStream,
}

impl FrameSender {
    /// Writes raw frame bytes.
    ///
    /// # Errors
    /// [`TransportError::Write`].
    pub async fn write(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        Ok(self.send.write_all(frame).await?)
    }

    /// Finishes the stream and waits (at most `grace`) until the peer has read everything, so
    /// that a last Error frame arrives before the connection closes.
    pub async fn finish_and_wait(&mut self, grace: std::time::Duration) {
        if self.send.finish().is_ok() {
            // Timed out or stopped: the connection closes either way.
            let _ = tokio::time::timeout(grace, self.send.stopped()).await;
        }
    }
}

/// The pin of the peer's certificate on an established connection.
#[must_use]
pub fn peer_pin(connection: &quinn::Connection) -> Option<Pin> {
    let identity = connection.peer_identity()?;
    let certs = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    Pin::of_certificate(certs.first()?.as_ref()).ok()
}
