//! Identities (a key and self-signed certificate) and their pins.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use crate::private_fs::{self, PrivateFsError};

/// File names in a data directory.
const KEY_FILE: &str = "identity.key";
const CERT_FILE: &str = "identity.crt";
const AUTHORIZED_FILE: &str = "authorized.txt";

/// Why an identity or pin cannot be made, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Key or certificate generation failed.
    #[error("cannot generate an identity: {0}")]
    Generate(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A certificate that is not DER X.509 with a public key.
    #[error("malformed certificate: {0}")]
    Certificate(&'static str),
    /// Text that is not a pin.
    #[error("invalid pin {0:?}: expected 64 hex digits (SHA-256 of the public key)")]
    BadPin(String),
    /// The data directory or one of its files is not private, or is a symbolic link.
    #[error(transparent)]
    Private(#[from] PrivateFsError),
}

/// The SHA-256 of a certificate's SubjectPublicKeyInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pin([u8; 32]);

impl Pin {
    /// The pin of a DER certificate.
    ///
    /// # Errors
    /// [`IdentityError::Certificate`] when the certificate does not parse.
    pub fn of_certificate(der: &[u8]) -> Result<Self, IdentityError> {
        let spki = subject_public_key_info(der).map_err(IdentityError::Certificate)?;
        Ok(Self(Sha256::digest(spki).into()))
    }

    /// The 32 digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The pin whose digest bytes these are.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for Pin {
    type Err = IdentityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || IdentityError::BadPin(s.to_owned());
        let bytes = hex::decode(s.trim()).map_err(|_| bad())?;
        Ok(Self(bytes.try_into().map_err(|_| bad())?))
    }
}

/// One DER element: tag and contents; advances `input` past it.
fn der_element<'a>(input: &mut &'a [u8]) -> Result<(u8, &'a [u8], &'a [u8]), &'static str> {
    let data = *input;
    let (&tag, rest) = data.split_first().ok_or("truncated DER")?;
    let (&first, mut rest) = rest.split_first().ok_or("truncated DER length")?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("bad DER length");
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err("DER element longer than its input");
    }
    let header = data.len() - rest.len();
    let whole = &data[..header + len];
    *input = &rest[len..];
    Ok((tag, &rest[..len], whole))
}

/// The SubjectPublicKeyInfo element of a DER X.509 certificate.
fn subject_public_key_info(cert: &[u8]) -> Result<&[u8], &'static str> {
    let mut input = cert;
    let (tag, certificate, _) = der_element(&mut input)?;
    if tag != 0x30 {
        return Err("certificate is not a SEQUENCE");
    }
    let mut fields = certificate;
    let (tag, tbs, _) = der_element(&mut fields)?;
    if tag != 0x30 {
        return Err("tbsCertificate is not a SEQUENCE");
    }
    let mut tbs = tbs;
    // [0] version (optional), serial, signature algorithm, issuer, validity, subject, SPKI.
    let mut seen = 0;
    loop {
        let (tag, _, whole) = der_element(&mut tbs)?;
        if seen == 0 && tag == 0xa0 {
            continue;
        }
        seen += 1;
        if seen == 6 {
            return if tag == 0x30 {
                Ok(whole)
            } else {
                Err("no SubjectPublicKeyInfo")
            };
        }
    }
}

/// A key and its self-signed certificate.
#[derive(Clone)]
pub struct Identity {
    key_pkcs8: Vec<u8>,
    cert_der: Vec<u8>,
    pin: Pin,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key.
        f.debug_struct("Identity")
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

fn io_error(path: &Path, source: std::io::Error) -> IdentityError {
    IdentityError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Identity {
    /// A new ECDSA P-256 key with a self-signed certificate for `name`.
    ///
    /// # Errors
    /// [`IdentityError::Generate`].
    pub fn generate(name: &str) -> Result<Self, IdentityError> {
        let gen_err = |e: rcgen::Error| IdentityError::Generate(e.to_string());
        let key = rcgen::KeyPair::generate().map_err(gen_err)?;
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).map_err(gen_err)?;
        let cert = params.self_signed(&key).map_err(gen_err)?;
        let cert_der = cert.der().to_vec();
        Ok(Self {
            key_pkcs8: key.serialize_der(),
            pin: Pin::of_certificate(&cert_der)?,
            cert_der,
        })
    }

    /// The identity stored in `dir`, created there (and the directory with it) if absent.
    /// Returns whether it was created.
    ///
    /// # Errors
    /// [`IdentityError`] for unreadable or unwritable files or a malformed certificate.
    pub fn load_or_create(dir: &Path, name: &str) -> Result<(Self, bool), IdentityError> {
        let (key_path, cert_path) = (dir.join(KEY_FILE), dir.join(CERT_FILE));
        private_fs::ensure_dir(dir)?;
        if key_path.exists() && cert_path.exists() {
            let key_pkcs8 = private_fs::read(&key_path)?;
            let cert_der = private_fs::read(&cert_path)?;
            let pin = Pin::of_certificate(&cert_der)?;
            return Ok((
                Self {
                    key_pkcs8,
                    cert_der,
                    pin,
                },
                false,
            ));
        }
        let identity = Self::generate(name)?;
        // Never written through a link: a symbolic link at either name is refused.
        private_fs::create_new(&key_path, &identity.key_pkcs8)?;
        private_fs::create_new(&cert_path, &identity.cert_der)?;
        Ok((identity, true))
    }

    /// Whether `dir` holds an identity.
    #[must_use]
    pub fn exists(dir: &Path) -> bool {
        dir.join(KEY_FILE).exists() && dir.join(CERT_FILE).exists()
    }

    /// This identity's pin.
    #[must_use]
    pub fn pin(&self) -> Pin {
        self.pin
    }

    /// The certificate, DER.
    #[must_use]
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The private key, PKCS#8 DER.
    #[must_use]
    pub fn key_pkcs8_der(&self) -> &[u8] {
        &self.key_pkcs8
    }
}

/// The pins a link serves, kept in `authorized.txt` in its data directory (one per line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizedPins {
    pins: BTreeSet<Pin>,
}

impl AuthorizedPins {
    /// The pins authorized in `dir` (none if the file does not exist).
    ///
    /// # Errors
    /// [`IdentityError`] for an unreadable file or a line that is not a pin.
    pub fn load(dir: &Path) -> Result<Self, IdentityError> {
        if std::fs::symlink_metadata(dir).is_ok() {
            private_fs::ensure_dir(dir)?;
        }
        let path = dir.join(AUTHORIZED_FILE);
        let text = if std::fs::symlink_metadata(&path).is_ok() {
            String::from_utf8(private_fs::read(&path)?).map_err(|e| {
                io_error(
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            })?
        } else {
            String::new()
        };
        let pins = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::parse)
            .collect::<Result<_, _>>()?;
        Ok(Self { pins })
    }

    /// Adds `pin` and saves the file; returns whether it was new.
    ///
    /// # Errors
    /// [`IdentityError::Io`] when the file cannot be written.
    pub fn authorize(&mut self, dir: &Path, pin: Pin) -> Result<bool, IdentityError> {
        let new = self.pins.insert(pin);
        if new {
            private_fs::ensure_dir(dir)?;
            let mut text = String::from("# worker pins this link serves\n");
            for p in &self.pins {
                text.push_str(&format!("{p}\n"));
            }
            private_fs::write(&dir.join(AUTHORIZED_FILE), text.as_bytes())?;
        }
        Ok(new)
    }

    /// Whether `pin` is authorized.
    #[must_use]
    pub fn contains(&self, pin: &Pin) -> bool {
        self.pins.contains(pin)
    }

    /// A set holding exactly `pins` (not saved).
    #[must_use]
    pub fn from_pins(pins: impl IntoIterator<Item = Pin>) -> Self {
        Self {
            pins: pins.into_iter().collect(),
        }
    }
}
