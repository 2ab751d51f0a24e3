//! Search backends and CPU feature detection.
//!
//! Dispatch happens once per batch (10^4..10^6 attempts), so an object-safe trait costs nothing
//! measurable; inside a backend everything is monomorphic.

mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;

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

/// A backend call's result: its value or why the backend cannot be built or failed.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// Why a backend cannot be built or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The backend asked for does not run here.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// `search` before `load_job`.
    #[error("no job loaded")]
    NoJob,
    /// A GPU failed: lost, stalled, or a result that does not verify.
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] gpu::GpuError),
}

/// The compute backends this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Eight nonces per 512-bit vector (AVX-512F): the AVX-512 variant that was fastest on
    /// the machines measured (see [`BackendKind::kernel`]).
    Avx512,
    /// Eight nonces per 512-bit vector (AVX-512F), theta's `D` computed per column.
    Avx512D,
    /// Four nonces per 256-bit vector with AVX-512's ternary logic and rotates (AVX-512VL).
    Avx512Ymm,
    /// Four nonces per 256-bit vector (AVX2).
    Avx2,
    /// Portable scalar Keccak with the midstate (always available).
    Soft,
    /// The WGSL kernel on every GPU adapter wgpu finds (Vulkan, Metal, DX12).
    Wgpu,
}

impl BackendKind {
    /// Every CPU kind, in the order `auto` falls back to without a measurement (the measured
    /// choice is [`crate::autotune`]'s).
    pub const ALL: [BackendKind; 5] = [
        BackendKind::Avx512,
        BackendKind::Avx512D,
        BackendKind::Avx512Ymm,
        BackendKind::Avx2,
        BackendKind::Soft,
    ];

    /// The search kernel of this kind, with the token that proves the CPU runs it.
    ///
    /// # Errors
    /// Why this CPU cannot run it (or that the kind is not a CPU kernel).
    pub fn kernel(self, features: &CpuFeatures) -> Result<SearchKernel, String> {
        // The kernel where the CPU has its features, and what it lacks otherwise.
        let (kernel, needs) = match self {
            BackendKind::Avx512 => (features.avx512().map(SearchKernel::Avx512), "AVX-512F"),
            BackendKind::Avx512D => (
                features.avx512().map(SearchKernel::Avx512ExplicitD),
                "AVX-512F",
            ),
            BackendKind::Avx512Ymm => (
                features.avx512vl().map(SearchKernel::Avx512Ymm),
                "AVX-512F or AVX-512VL",
            ),
            BackendKind::Avx2 => (features.avx2().map(SearchKernel::Avx2), "AVX2"),
            BackendKind::Soft => return Ok(SearchKernel::Scalar),
            BackendKind::Wgpu => return Err("wgpu is not a CPU kernel".to_owned()),
        };
        kernel.ok_or_else(|| format!("this CPU lacks {needs}"))
    }
}

impl ixi_kernels::select::BackendKind for BackendKind {
    const KINDS: &'static [Self] = &[
        Self::Avx512,
        Self::Avx512D,
        Self::Avx512Ymm,
        Self::Avx2,
        Self::Soft,
        Self::Wgpu,
    ];
    const AUTO_ORDER: &'static [Self] = &Self::ALL;
    const GPU: Option<Self> = Some(Self::Wgpu);

    fn name(self) -> &'static str {
        match self {
            BackendKind::Avx512 => "avx512",
            BackendKind::Avx512D => "avx512-d",
            BackendKind::Avx512Ymm => "avx512-ymm",
            BackendKind::Avx2 => "avx2",
            BackendKind::Soft => "soft",
            BackendKind::Wgpu => "wgpu",
        }
    }

    fn unsupported_reason(self, features: &CpuFeatures) -> Option<String> {
        match self {
            #[cfg(feature = "gpu")]
            BackendKind::Wgpu => ixi_gpu::no_adapter_reason(),
            #[cfg(not(feature = "gpu"))]
            BackendKind::Wgpu => Some(ixi_kernels::select::NO_GPU_BUILD.to_owned()),
            _ => self.kernel(features).err(),
        }
    }
}

ixi_kernels::engine_backend_types!(BackendKind, "miner");

/// The CPU kinds this machine can run, fastest first.
#[must_use]
pub fn available(features: &CpuFeatures) -> Vec<BackendKind> {
    ixi_kernels::select::available(features)
}

/// Builds one CPU backend of `kind`.
///
/// # Errors
/// [`BackendError::Select`] when this machine cannot run it (or `kind` is not a CPU kind).
pub fn create_cpu(kind: BackendKind, features: &CpuFeatures) -> Result<Box<dyn SearchBackend>> {
    let kernel = kind
        .kernel(features)
        .map_err(|reason| SelectError::Unsupported { kind, reason })?;
    Ok(Box::new(CpuBackend::with_kernel(kernel)))
}

/// The workers' backends for `kind`: `threads` CPU backends, or for wgpu one per GPU adapter
/// (software ones included, since wgpu was asked for by name).
///
/// # Errors
/// [`BackendError::Select`] when this machine cannot run it, a GPU error when an adapter
/// cannot be opened.
pub fn create(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
) -> Result<Vec<Box<dyn SearchBackend>>> {
    create_observed(kind, features, threads, &mut |_| {})
}

/// As [`create`], reporting each step of a GPU's first-use tuning to `on_tune` (for a progress
/// bar; nothing is reported when the tuning comes from the cache).
///
/// # Errors
/// As [`create`].
pub fn create_observed(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
    on_tune: &mut dyn FnMut(TuneProgress),
) -> Result<Vec<Box<dyn SearchBackend>>> {
    if kind == BackendKind::Wgpu {
        return create_gpus_observed(true, on_tune);
    }
    (0..threads.max(1))
        .map(|_| create_cpu(kind, features))
        .collect()
}

/// One GPU backend per adapter wgpu finds; software adapters (lavapipe) only with
/// `include_software`, since they take CPU time from the CPU backends.
///
/// # Errors
/// [`BackendError::Select`] when there is none, a GPU error when one cannot be opened.
pub fn create_gpus(include_software: bool) -> Result<Vec<Box<dyn SearchBackend>>> {
    create_gpus_observed(include_software, &mut |_| {})
}

/// As [`create_gpus`], reporting each step of a GPU's first-use tuning to `on_tune`.
///
/// # Errors
/// As [`create_gpus`].
#[cfg(feature = "gpu")]
pub fn create_gpus_observed(
    include_software: bool,
    on_tune: &mut dyn FnMut(TuneProgress),
) -> Result<Vec<Box<dyn SearchBackend>>> {
    let found = gpu::discover();
    let usable: Vec<usize> = found
        .iter()
        .filter(|g| include_software || !g.software)
        .map(|g| g.index)
        .collect();
    if usable.is_empty() {
        let reason = if found.is_empty() {
            gpu::NO_ADAPTER
        } else {
            "only software GPU adapters were found"
        };
        return Err(SelectError::Unsupported {
            kind: BackendKind::Wgpu,
            reason: reason.to_owned(),
        }
        .into());
    }
    usable
        .into_iter()
        .map(|i| {
            let options = gpu::GpuOptions::default();
            let backend = gpu::GpuBackend::new_observed(i, options, on_tune)?;
            Ok(Box::new(backend) as Box<dyn SearchBackend>)
        })
        .collect()
}

/// Without the `gpu` feature there are no GPU backends.
///
/// # Errors
/// Always [`BackendError::Select`].
#[cfg(not(feature = "gpu"))]
pub fn create_gpus_observed(
    _include_software: bool,
    _on_tune: &mut dyn FnMut(TuneProgress),
) -> Result<Vec<Box<dyn SearchBackend>>> {
    Err(SelectError::no_gpu_build(BackendKind::Wgpu).into())
}

/// One step of a GPU's first-use tuning (workgroup and dispatch sizes measured on a synthetic
/// job, about a second on a real GPU, longer on a software one), for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TuneProgress {
    /// The adapter's name.
    pub adapter: String,
    /// Steps measured so far.
    pub done: u32,
    /// Steps at most; the last report of an adapter has `done == total`.
    pub total: u32,
}

/// A compute backend: load a job once, then search counter ranges.
pub trait SearchBackend: Send {
    /// The backend's name (as `--backend` takes it).
    fn name(&self) -> &'static str;

    /// The kernel variant it runs (a CPU kernel's name, or a GPU shader variant's); the
    /// backend's name where it has one kernel only.
    fn variant(&self) -> &'static str {
        self.name()
    }

    /// Attempts per `search` call that keep dispatch overhead negligible and job switches quick.
    fn preferred_batch(&self) -> u64;

    /// The device it runs on, as metrics and status label it: `cpu` for every CPU backend (the
    /// threads of one CPU are one device), `gpu<N>` for GPU adapter `N`.
    fn device(&self) -> String {
        "cpu".to_owned()
    }

    /// Precomputes everything that does not depend on the counter.
    ///
    /// # Errors
    /// Backend-specific failures (device lost for GPU backends).
    fn load_job(&mut self, job: &Job) -> Result<()>;

    /// Searches `range` of the loaded job; pushes hashes that meet `target` and returns the
    /// number of attempts made (less than `range.count` only at the end of the counter space).
    ///
    /// # Errors
    /// [`BackendError::NoJob`] before [`SearchBackend::load_job`].
    fn search(&mut self, range: NonceRange, target: &Target, hits: &mut Vec<Hit>) -> Result<u64>;
}
