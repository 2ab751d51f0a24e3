//! TLS 1.3 with pinned keys on both sides, for QUIC.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DistinguishedName, SignatureScheme};

use crate::identity::{AuthorizedPins, Identity, Pin};

/// ALPN of the link protocol.
pub const ALPN: &[u8] = b"ixi-link/1";
/// The name workers use for the link (certificates are pinned, not checked by name).
pub const SERVER_NAME: &str = "ixi-link";
/// QUIC idle timeout: a peer silent this long is gone. Short, so that a killed link or worker
/// is noticed within 5 s on both sides.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Connection attempts quinn holds before the link takes them.
pub const MAX_INCOMING: usize = 256;
/// QUIC keep-alive interval: three may be lost before the idle timeout.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// Why a TLS or QUIC configuration cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    /// quinn refused the rustls configuration.
    #[error("QUIC configuration: {0}")]
    Quic(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// TLS 1.3 only.
static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];

fn tls13_only() -> &'static [&'static rustls::SupportedProtocolVersion] {
    &TLS13_ONLY
}

fn pin_error(what: &str) -> rustls::Error {
    rustls::Error::General(what.to_owned())
}

/// The handshake-signature methods both verifiers share: TLS 1.3 signatures checked with the
/// provider's algorithms, TLS 1.2 refused.
macro_rules! handshake_signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            Err(pin_error("TLS 1.2 is not used by the ixi link"))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(
                message,
                cert,
                dss,
                &self.provider.signature_verification_algorithms,
            )
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.provider
                .signature_verification_algorithms
                .supported_schemes()
        }
    };
}

/// Accepts exactly the server certificate with the given pin.
#[derive(Debug)]
struct PinnedServer {
    pin: Pin,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match Pin::of_certificate(end_entity) {
            Ok(pin) if pin == self.pin => Ok(ServerCertVerified::assertion()),
            Ok(pin) => Err(pin_error(&format!(
                "link pin {pin} is not the expected {}",
                self.pin
            ))),
            Err(e) => Err(pin_error(&e.to_string())),
        }
    }

    handshake_signatures!();
}

/// Accepts the client certificates whose pins are authorized (the set can change while the
/// link runs).
#[derive(Debug)]
struct PinnedClients {
    authorized: Arc<RwLock<AuthorizedPins>>,
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for PinnedClients {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let pin = Pin::of_certificate(end_entity).map_err(|e| pin_error(&e.to_string()))?;
        let allowed = self.authorized.read().is_ok_and(|set| set.contains(&pin));
        if allowed {
            Ok(ClientCertVerified::assertion())
        } else {
            // Sent as TLS's access_denied alert: the worker tells its operator it is not
            // authorized, rather than that its connection broke.
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    handshake_signatures!();
}

fn key_and_chain(identity: &Identity) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let chain = vec![CertificateDer::from(identity.certificate_der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_pkcs8_der().to_vec()));
    (chain, key)
}

fn transport() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    // IDLE_TIMEOUT (4 s) is far inside the VarInt range: the conversion cannot fail.
    if let Ok(idle) = quinn::IdleTimeout::try_from(IDLE_TIMEOUT) {
        t.max_idle_timeout(Some(idle));
    }
    t.keep_alive_interval(Some(KEEP_ALIVE));
    Arc::new(t)
}

/// The link's QUIC server configuration: its identity, serving the `authorized` pins.
///
/// # Errors
/// [`TlsError`] if rustls or quinn refuse the configuration.
pub fn server_config(
    identity: &Identity,
    authorized: Arc<RwLock<AuthorizedPins>>,
) -> Result<quinn::ServerConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedClients {
        authorized,
        provider: Arc::clone(&provider),
    });
    let (chain, key) = key_and_chain(identity);
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(tls13_only())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    // No 0-RTT: early data is replayable.
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TlsError::Quic(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport());
    // Connection attempts not yet handed to the link, and what they may buffer: far below
    // quinn's defaults (65536 attempts, 100 MiB), since a worker's handshake is a few
    // datagrams and the link refuses floods above its handshake limit anyway.
    config.max_incoming(MAX_INCOMING);
    config.incoming_buffer_size(64 * 1024);
    config.incoming_buffer_size_total(4 << 20);
    Ok(config)
}

/// A worker's QUIC client configuration: its identity, trusting only `link_pin`.
///
/// # Errors
/// [`TlsError`] if rustls or quinn refuse the configuration.
pub fn client_config(identity: &Identity, link_pin: Pin) -> Result<quinn::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinnedServer {
        pin: link_pin,
        provider: Arc::clone(&provider),
    });
    let (chain, key) = key_and_chain(identity);
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(tls13_only())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain, key)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.enable_early_data = false;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TlsError::Quic(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport());
    Ok(config)
}
