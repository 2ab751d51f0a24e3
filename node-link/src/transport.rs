//! QUIC endpoints and the framed stream a session runs on.

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use ixi_link_proto::codec::Decoder;
use ixi_link_proto::{DecodeError, Message, codec};

use crate::identity::{AuthorizedPins, Identity, Pin};
use crate::tls::{self, SERVER_NAME, TlsError};

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
    /// Connecting failed (refused, wrong pin, unauthorized, timed out).
    #[error("connection failed: {0}")]
    Connect(String),
    /// The connection or stream broke.
    #[error("connection lost: {0}")]
    Lost(String),
    /// The peer sent bytes that are not a frame.
    #[error("malformed frame from the peer: {0}")]
    Malformed(#[from] DecodeError),
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
/// [`TransportError::Connect`] when the handshake fails (wrong pin, unauthorized worker,
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
    let connecting = endpoint
        .connect(addr, SERVER_NAME)
        .map_err(|e| TransportError::Connect(e.to_string()))?;
    connecting
        .await
        .map_err(|e| TransportError::Connect(e.to_string()))
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
    /// [`TransportError::Lost`] if the connection is gone.
    pub async fn open(connection: &quinn::Connection) -> Result<Self, TransportError> {
        let (send, recv) = connection
            .open_bi()
            .await
            .map_err(|e| TransportError::Lost(e.to_string()))?;
        Ok(Self::new(send, recv))
    }

    /// Accepts the session stream (link side).
    ///
    /// # Errors
    /// [`TransportError::Lost`] if the connection is gone.
    pub async fn accept(connection: &quinn::Connection) -> Result<Self, TransportError> {
        let (send, recv) = connection
            .accept_bi()
            .await
            .map_err(|e| TransportError::Lost(e.to_string()))?;
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
    /// [`TransportError::Lost`].
    pub async fn write(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        self.send
            .write_all(frame)
            .await
            .map_err(|e| TransportError::Lost(e.to_string()))
    }

    /// Writes one message.
    ///
    /// # Errors
    /// [`TransportError::Lost`].
    pub async fn send(&mut self, message: &Message) -> Result<(), TransportError> {
        self.write(&codec::to_frame(message)).await
    }

    /// Reads whatever bytes arrive next; `None` when the peer finished the stream.
    ///
    /// # Errors
    /// [`TransportError::Lost`].
    pub async fn read_chunk(&mut self) -> Result<Option<&[u8]>, TransportError> {
        match self.recv.read(&mut self.buffer).await {
            Ok(Some(n)) => Ok(Some(&self.buffer[..n])),
            Ok(None) => Ok(None),
            Err(e) => Err(TransportError::Lost(e.to_string())),
        }
    }

    /// Reads the next whole message; `None` when the peer finished the stream.
    ///
    /// # Errors
    /// [`TransportError::Lost`] or [`TransportError::Malformed`].
    pub async fn recv(&mut self) -> Result<Option<Message>, TransportError> {
        loop {
            if let Some(m) = self.decoder.next_message()? {
                return Ok(Some(m));
            }
            let Some(chunk) = self.read_chunk().await? else {
                return Ok(None);
            };
            let chunk = chunk.to_vec();
            self.decoder.push(&chunk);
        }
    }

    /// Finishes the sending side.
    pub fn finish(&mut self) {
        // Already finished or reset: nothing left to do.
        let _ = self.send.finish();
    }

    /// Splits the stream for a driver loop: frames go out through the returned sender; what
    /// arrives is read by a task of its own and handed over as [`Received`] chunks, so the loop
    /// can wait on it next to timers and other channels.
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
                    Err(e) => Received::Lost(e.to_string()),
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
    Lost(String),
}

/// The sending half of a split stream.
pub struct FrameSender {
    send: quinn::SendStream,
}

impl FrameSender {
    /// Writes raw frame bytes.
    ///
    /// # Errors
    /// [`TransportError::Lost`].
    pub async fn write(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        self.send
            .write_all(frame)
            .await
            .map_err(|e| TransportError::Lost(e.to_string()))
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
