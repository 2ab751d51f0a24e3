//! Search backends and CPU feature detection.
//!
//! Dispatch happens once per batch (10^4..10^6 attempts), so an object-safe trait costs nothing
//! measurable; inside a backend everything is monomorphic.

mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;

use std::fmt;
use std::str::FromStr;

use ixi_kernels::pow::{Hit, Target};

pub use cpu::CpuBackend;
pub use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::simd::SearchKernel;

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
    /// A device failed: lost, stalled, or a result that does not verify.
    #[error("device error: {0}")]
    Device(String),
}

/// The compute backends this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Eight nonces per 512-bit vector (AVX-512F).
    Avx512,
    /// Four nonces per 256-bit vector (AVX2).
    Avx2,
    /// Portable scalar Keccak with the midstate (always available).
    Soft,
    /// The WGSL kernel on every GPU adapter wgpu finds (Vulkan, Metal, DX12).
    Wgpu,
}

impl BackendKind {
    /// Every CPU kind, fastest first (what `auto` chooses from).
    pub const ALL: [BackendKind; 3] = [BackendKind::Avx512, BackendKind::Avx2, BackendKind::Soft];
    /// Every name `--backend` takes.
    pub const NAMES: [&'static str; 4] = ["avx512", "avx2", "soft", "wgpu"];

    /// The name `--backend` takes.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Avx512 => "avx512",
            BackendKind::Avx2 => "avx2",
            BackendKind::Soft => "soft",
            BackendKind::Wgpu => "wgpu",
        }
    }

    /// Why this machine cannot run the kind, or `None` if it can.
    #[must_use]
    pub fn unsupported_reason(self, features: &CpuFeatures) -> Option<String> {
        if self == BackendKind::Wgpu {
            #[cfg(not(feature = "gpu"))]
            return Some("this build has no GPU support (the gpu feature is off)".to_owned());
            #[cfg(feature = "gpu")]
            return gpu::discover().is_empty().then(|| {
                "no GPU adapter found (a Vulkan, Metal or DX12 driver is needed; on Linux without a GPU, Mesa's lavapipe: mesa-vulkan-drivers)".to_owned()
            });
        }
        self.kernel(features).err()
    }

    /// The search kernel of this kind, with the token that proves the CPU runs it.
    fn kernel(self, features: &CpuFeatures) -> Result<SearchKernel, String> {
        match self {
            BackendKind::Avx512 => features
                .avx512()
                .map(SearchKernel::Avx512)
                .ok_or_else(|| "this CPU lacks AVX-512F".to_owned()),
            BackendKind::Avx2 => features
                .avx2()
                .map(SearchKernel::Avx2)
                .ok_or_else(|| "this CPU lacks AVX2".to_owned()),
            BackendKind::Soft => Ok(SearchKernel::Scalar),
            BackendKind::Wgpu => Err("wgpu is not a CPU kernel".to_owned()),
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
            .chain([BackendKind::Wgpu])
            .find(|k| k.name() == s)
            .map(Self::Forced)
            .ok_or(BackendError::Unknown(s))
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
    if kind == BackendKind::Wgpu {
        return create_gpus(true)?
            .into_iter()
            .next()
            .ok_or(BackendError::NoJob);
    }
    let kernel = kind
        .kernel(features)
        .map_err(|reason| BackendError::Unsupported { kind, reason })?;
    Ok(Box::new(CpuBackend::with_kernel(kernel)))
}

/// One GPU backend per adapter wgpu finds; software adapters (lavapipe) only with
/// `include_software`, since they take CPU time from the CPU backends.
///
/// # Errors
/// [`BackendError::Unsupported`] when there is none, [`BackendError::Device`] when one cannot
/// be opened.
#[cfg(feature = "gpu")]
pub fn create_gpus(include_software: bool) -> Result<Vec<Box<dyn SearchBackend>>, BackendError> {
    let usable: Vec<usize> = gpu::discover()
        .into_iter()
        .filter(|g| include_software || !g.software)
        .map(|g| g.index)
        .collect();
    if usable.is_empty() {
        return Err(BackendError::Unsupported {
            kind: BackendKind::Wgpu,
            reason: BackendKind::Wgpu
                .unsupported_reason(&CpuFeatures::detect())
                .unwrap_or_else(|| "only software GPU adapters were found".to_owned()),
        });
    }
    usable
        .into_iter()
        .map(|i| Ok(Box::new(gpu::GpuBackend::new(i, true, true)?) as Box<dyn SearchBackend>))
        .collect()
}

/// Without the `gpu` feature there are no GPU backends.
///
/// # Errors
/// Always [`BackendError::Unsupported`].
#[cfg(not(feature = "gpu"))]
pub fn create_gpus(_include_software: bool) -> Result<Vec<Box<dyn SearchBackend>>, BackendError> {
    Err(BackendError::Unsupported {
        kind: BackendKind::Wgpu,
        reason: "this build has no GPU support (the gpu feature is off)".to_owned(),
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
