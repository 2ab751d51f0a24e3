//! Verification backends: one verdict per item, whatever the mix of keys.
//!
//! `auto` chooses among the CPU backends only ([`BackendKind::ALL`]): whether a GPU beats the
//! CPU depends on both (a many-core IFMA server can outrun a small GPU, and a software adapter
//! such as lavapipe is always slower), and resolving `auto` cannot measure. `wgpu` is chosen
//! by name, after `ixi-verifier bench --backend wgpu` has shown it faster on that machine.

#[cfg(feature = "gpu")]
pub mod gpu;
mod ifma;
mod scalar;

pub use ifma::IfmaBackend;
use ixi_kernels::cpu::CpuFeatures;
pub use scalar::ScalarBackend;
pub(crate) use scalar::verify_one_scalar;

use crate::item::VerifyItem;

/// Why a backend cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The backend asked for does not run here.
    #[error(transparent)]
    Select(#[from] SelectError),
    /// The worker pool could not start.
    #[error("could not start {0} worker threads")]
    Threads(usize),
    /// The GPU could not be opened, its pipeline was rejected, or its warm-up failed.
    #[cfg(feature = "gpu")]
    #[error(transparent)]
    Gpu(#[from] gpu::GpuFault),
}

/// The verification backends this build knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// Eight signatures per AVX-512 IFMA vector.
    Ifma,
    /// aws-lc-rs per signature, exact portable arithmetic for keys it does not take.
    Scalar,
    /// The WGSL kernel on a GPU through wgpu (Vulkan, Metal, DX12), the CPU backend beside it
    /// for what the GPU does not take and for batches a device fault interrupted.
    Wgpu,
}

impl BackendKind {
    /// Every CPU kind, fastest first: what `auto` chooses from.
    pub const ALL: [BackendKind; 2] = [BackendKind::Ifma, BackendKind::Scalar];
    /// Every kind `--backend` takes, the GPU last.
    pub const KINDS: [BackendKind; 3] = [BackendKind::Ifma, BackendKind::Scalar, BackendKind::Wgpu];
}

/// Why a CPU without IFMA cannot run the IFMA backend.
const NO_IFMA: &str = "this CPU lacks AVX-512F with AVX-512 IFMA";

impl ixi_kernels::select::BackendKind for BackendKind {
    const KINDS: &'static [Self] = &Self::KINDS;
    const AUTO_ORDER: &'static [Self] = &Self::ALL;
    const GPU: Option<Self> = Some(Self::Wgpu);

    fn name(self) -> &'static str {
        match self {
            BackendKind::Ifma => "ifma",
            BackendKind::Scalar => "scalar",
            BackendKind::Wgpu => "wgpu",
        }
    }

    fn unsupported_reason(self, features: &CpuFeatures) -> Option<String> {
        match self {
            BackendKind::Ifma => features.ifma().is_none().then(|| NO_IFMA.to_owned()),
            BackendKind::Scalar => None,
            #[cfg(feature = "gpu")]
            BackendKind::Wgpu => ixi_gpu::no_adapter_reason(),
            #[cfg(not(feature = "gpu"))]
            BackendKind::Wgpu => Some(ixi_kernels::select::NO_GPU_BUILD.to_owned()),
        }
    }
}

ixi_kernels::engine_backend_types!(BackendKind, "verifier");

/// A thread pool of `threads` verifying threads.
fn pool(threads: usize, name: &'static str) -> Result<rayon::ThreadPool, BackendError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map_err(|_| BackendError::Threads(threads))
}

/// Builds a backend of `kind` with `threads` workers (for `wgpu`: host threads preparing the
/// GPU's work, and as many for its CPU backend).
///
/// # Errors
/// [`BackendError::Select`] when this machine cannot run it, [`BackendError::Threads`] if
/// the pool cannot start, [`BackendError::Gpu`] if the GPU cannot be opened.
pub fn create(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
) -> Result<Box<dyn VerifyBackend>, BackendError> {
    if kind == BackendKind::Wgpu {
        #[cfg(feature = "gpu")]
        return Ok(Box::new(gpu::WgpuBackend::new(
            gpu::WgpuOptions::default(),
            features,
            threads,
        )?));
        #[cfg(not(feature = "gpu"))]
        return Err(SelectError::no_gpu_build(kind).into());
    }
    create_cpu(kind, features, threads)
}

/// A CPU backend of `kind`.
pub(crate) fn create_cpu(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
) -> Result<Box<dyn VerifyBackend>, BackendError> {
    let pool = pool(threads, "ixi-verify")?;
    Ok(match kind {
        BackendKind::Ifma => {
            let token = features.ifma().ok_or_else(|| SelectError::Unsupported {
                kind,
                reason: NO_IFMA.to_owned(),
            })?;
            Box::new(IfmaBackend::new(token, pool))
        }
        BackendKind::Scalar => Box::new(ScalarBackend::new(pool)),
        BackendKind::Wgpu => {
            return Err(SelectError::Unsupported {
                kind,
                reason: "wgpu is not a CPU backend".to_owned(),
            }
            .into());
        }
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
