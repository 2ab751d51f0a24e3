//! Verification backends: one verdict per item, whatever the mix of keys.

mod ifma;
mod scalar;

use std::fmt;
use std::str::FromStr;

pub use ifma::IfmaBackend;
use ixi_kernels::cpu::CpuFeatures;
pub use scalar::ScalarBackend;
pub(crate) use scalar::verify_one_scalar;

use crate::batch::VerifyItem;

/// Why a backend cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// A backend name that does not exist.
    #[error("unknown backend {0:?}: expected one of auto, ifma, scalar")]
    Unknown(String),
    /// A forced backend this CPU cannot run.
    #[error("backend {kind} is not supported on this machine: {reason}")]
    Unsupported {
        /// The backend asked for.
        kind: BackendKind,
        /// What is missing.
        reason: String,
    },
    /// The worker pool could not start.
    #[error("could not start {0} worker threads")]
    Threads(usize),
}

/// The verification backends this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Eight signatures per AVX-512 IFMA vector.
    Ifma,
    /// aws-lc-rs per signature, exact portable arithmetic for keys it does not take.
    Scalar,
}

impl BackendKind {
    /// Every kind, fastest first.
    pub const ALL: [BackendKind; 2] = [BackendKind::Ifma, BackendKind::Scalar];

    /// The name `--backend` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Ifma => "ifma",
            BackendKind::Scalar => "scalar",
        }
    }

    /// Why this machine cannot run the kind, or `None` if it can.
    #[must_use]
    pub fn unsupported_reason(self, features: &CpuFeatures) -> Option<String> {
        match self {
            BackendKind::Ifma => features
                .ifma()
                .is_none()
                .then(|| "this CPU lacks AVX-512F with AVX-512 IFMA".to_owned()),
            BackendKind::Scalar => None,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backend request: a specific kind, or the fastest this machine supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// The fastest supported kind.
    Auto,
    /// Exactly this kind; an error if unsupported.
    Forced(BackendKind),
}

impl FromStr for BackendChoice {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        if s == "auto" {
            return Ok(Self::Auto);
        }
        BackendKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .map(Self::Forced)
            .ok_or(BackendError::Unknown(s))
    }
}

/// Resolves a choice to a kind this machine runs.
///
/// # Errors
/// [`BackendError::Unsupported`] when a forced kind cannot run here.
pub fn resolve(choice: BackendChoice, features: &CpuFeatures) -> Result<BackendKind, BackendError> {
    match choice {
        BackendChoice::Auto => Ok(BackendKind::ALL
            .into_iter()
            .find(|k| k.unsupported_reason(features).is_none())
            .unwrap_or(BackendKind::Scalar)),
        BackendChoice::Forced(kind) => match kind.unsupported_reason(features) {
            None => Ok(kind),
            Some(reason) => Err(BackendError::Unsupported { kind, reason }),
        },
    }
}

/// Builds a backend of `kind` with `threads` workers.
///
/// # Errors
/// [`BackendError::Unsupported`] when this machine cannot run it, [`BackendError::Threads`] if
/// the pool cannot start.
pub fn create(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
) -> Result<Box<dyn VerifyBackend>, BackendError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|i| format!("ixi-verify-{i}"))
        .build()
        .map_err(|_| BackendError::Threads(threads))?;
    Ok(match kind {
        BackendKind::Ifma => {
            let token = features.ifma().ok_or_else(|| BackendError::Unsupported {
                kind,
                reason: "this CPU lacks AVX-512F with AVX-512 IFMA".to_owned(),
            })?;
            Box::new(IfmaBackend::new(token, pool))
        }
        BackendKind::Scalar => Box::new(ScalarBackend::new(pool)),
    })
}

/// A verification backend.
pub trait VerifyBackend: Send + Sync {
    /// The name `--backend` takes.
    fn name(&self) -> &'static str;

    /// Writes one verdict per item into `ok` (`ok.len() == items.len()`): every item is
    /// answered, none is skipped.
    fn verify_batch(&self, items: &[VerifyItem<'_>], ok: &mut [bool]);
}
