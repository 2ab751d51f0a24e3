//! Search backends and CPU feature detection.
//!
//! Dispatch happens once per batch (10^4..10^6 attempts), so an object-safe trait costs nothing
//! measurable; inside a backend everything is monomorphic.

mod soft;

use std::fmt;
use std::str::FromStr;

use ixi_kernels::pow::{Hit, Target};

pub use soft::SoftBackend;

use crate::job::Job;

/// A half-open range of nonce counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceRange {
    /// First counter.
    pub start: u64,
    /// Number of counters.
    pub count: u64,
}

/// Why a backend cannot be built or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// A backend name that does not exist.
    #[error("unknown backend {0:?}: expected one of auto, {names}", names = BackendKind::NAMES.join(", "))]
    Unknown(String),
    /// A forced backend this CPU cannot run.
    #[error("backend {kind} is not supported on this machine: {reason}")]
    Unsupported {
        /// The backend asked for.
        kind: BackendKind,
        /// What is missing.
        reason: String,
    },
    /// `search` before `load_job`.
    #[error("no job loaded")]
    NoJob,
}

/// The compute backends this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Portable scalar Keccak with the midstate (always available).
    Soft,
}

impl BackendKind {
    /// Every kind, fastest first.
    pub const ALL: [BackendKind; 1] = [BackendKind::Soft];
    /// Their names, as `--backend` takes them.
    pub const NAMES: [&'static str; 1] = ["soft"];

    /// The name `--backend` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Soft => "soft",
        }
    }

    /// Why this machine cannot run the kind, or `None` if it can.
    #[must_use]
    pub fn unsupported_reason(self, _features: &CpuFeatures) -> Option<String> {
        match self {
            BackendKind::Soft => None,
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

/// CPU features, detected once at start-up. A SIMD backend can only be built from this token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuFeatures {
    /// AVX2.
    pub avx2: bool,
    /// AVX-512 Foundation.
    pub avx512f: bool,
    /// AVX-512 Vector Length extensions.
    pub avx512vl: bool,
    /// AVX-512 Integer Fused Multiply-Add (52-bit).
    pub avx512ifma: bool,
    /// BMI2.
    pub bmi2: bool,
}

impl CpuFeatures {
    /// Detects the running CPU's features.
    #[must_use]
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            Self {
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                avx512f: std::arch::is_x86_feature_detected!("avx512f"),
                avx512vl: std::arch::is_x86_feature_detected!("avx512vl"),
                avx512ifma: std::arch::is_x86_feature_detected!("avx512ifma"),
                bmi2: std::arch::is_x86_feature_detected!("bmi2"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self::default()
        }
    }

    /// `(name, detected)` pairs for display.
    #[must_use]
    pub fn list(&self) -> [(&'static str, bool); 5] {
        [
            ("avx2", self.avx2),
            ("avx512f", self.avx512f),
            ("avx512vl", self.avx512vl),
            ("avx512ifma", self.avx512ifma),
            ("bmi2", self.bmi2),
        ]
    }
}

/// The kinds this machine can run, fastest first.
#[must_use]
pub fn available(features: &CpuFeatures) -> Vec<BackendKind> {
    BackendKind::ALL
        .into_iter()
        .filter(|k| k.unsupported_reason(features).is_none())
        .collect()
}

/// Resolves a choice to a kind this machine runs.
///
/// # Errors
/// [`BackendError::Unsupported`] when a forced kind cannot run here.
pub fn resolve(choice: BackendChoice, features: &CpuFeatures) -> Result<BackendKind, BackendError> {
    match choice {
        BackendChoice::Auto => Ok(available(features)
            .first()
            .copied()
            .unwrap_or(BackendKind::Soft)),
        BackendChoice::Forced(kind) => match kind.unsupported_reason(features) {
            None => Ok(kind),
            Some(reason) => Err(BackendError::Unsupported { kind, reason }),
        },
    }
}

/// Builds a backend of `kind`.
///
/// # Errors
/// [`BackendError::Unsupported`] when this machine cannot run it.
pub fn create(
    kind: BackendKind,
    features: &CpuFeatures,
) -> Result<Box<dyn SearchBackend>, BackendError> {
    if let Some(reason) = kind.unsupported_reason(features) {
        return Err(BackendError::Unsupported { kind, reason });
    }
    Ok(match kind {
        BackendKind::Soft => Box::new(SoftBackend::new()),
    })
}

/// A compute backend: load a job once, then search counter ranges.
pub trait SearchBackend: Send {
    /// The backend's name (as `--backend` takes it).
    fn name(&self) -> &'static str;

    /// Attempts per `search` call that keep dispatch overhead negligible and job switches quick.
    fn preferred_batch(&self) -> u64;

    /// Precomputes everything that does not depend on the counter.
    ///
    /// # Errors
    /// Backend-specific failures (device lost for GPU backends).
    fn load_job(&mut self, job: &Job) -> Result<(), BackendError>;

    /// Searches `range` of the loaded job; pushes hashes that meet `target` and returns the
    /// number of attempts made (less than `range.count` only at the end of the counter space).
    ///
    /// # Errors
    /// [`BackendError::NoJob`] before [`SearchBackend::load_job`].
    fn search(
        &mut self,
        range: NonceRange,
        target: &Target,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, BackendError>;
}
