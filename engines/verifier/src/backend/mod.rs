//! Verification backends: one verdict per item, whatever the mix of keys.

mod ifma;
mod scalar;

use std::fmt;

pub use ifma::IfmaBackend;
use ixi_kernels::cpu::CpuFeatures;
pub use scalar::ScalarBackend;
pub(crate) use scalar::verify_one_scalar;

use crate::item::VerifyItem;

/// The verifier's backend request: `auto` or a forced [`BackendKind`].
pub type BackendChoice = ixi_kernels::select::BackendChoice<BackendKind>;
/// Why a backend request cannot be met on this machine.
pub type SelectError = ixi_kernels::select::SelectError<BackendKind>;

/// Why a backend cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The backend asked for does not run here.
    #[error(transparent)]
    Select(#[from] SelectError),
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
}

/// Why a CPU without IFMA cannot run the IFMA backend.
const NO_IFMA: &str = "this CPU lacks AVX-512F with AVX-512 IFMA";

impl ixi_kernels::select::BackendKind for BackendKind {
    const KINDS: &'static [Self] = &Self::ALL;
    const AUTO_ORDER: &'static [Self] = &Self::ALL;

    fn name(self) -> &'static str {
        match self {
            BackendKind::Ifma => "ifma",
            BackendKind::Scalar => "scalar",
        }
    }

    fn unsupported_reason(self, features: &CpuFeatures) -> Option<String> {
        match self {
            BackendKind::Ifma => features.ifma().is_none().then(|| NO_IFMA.to_owned()),
            BackendKind::Scalar => None,
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(ixi_kernels::select::BackendKind::name(*self))
    }
}

/// Builds a backend of `kind` with `threads` workers.
///
/// # Errors
/// [`BackendError::Select`] when this machine cannot run it, [`BackendError::Threads`] if
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
            let token = features.ifma().ok_or_else(|| SelectError::Unsupported {
                kind,
                reason: NO_IFMA.to_owned(),
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
