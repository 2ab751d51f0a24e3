//! The GPU backend: the WGSL search kernel through wgpu (Vulkan, Metal, DX12).
//!
//! - `device`: what is built once per device and kept: pipeline, uniform and hit buffers,
//!   bind groups, on the shared [`ixi_gpu::Device`].
//! - `search`: a search call split into dispatches with two in flight (double-buffered
//!   uniforms and hit buffers), so the GPU is fed while the host reads the previous dispatch's
//!   hits. The only readback is the small hit buffer: counters whose hash's most significant
//!   word is within the target's. Every one is recomputed on the CPU's plain path: a counter
//!   that does not even meet that word is a device fault (reported, never a solution); one
//!   that does but misses the full 512-bit target is an ordinary filter pass. A dispatch whose
//!   hit buffer overflows is searched again on the CPU, so no hit is lost. A dispatch not
//!   finished within the watchdog's time is a stalled device: the search fails with a fault
//!   and the device is built anew on the next call.
//! - `tuning`: workgroup and dispatch sizes, measured on first use per adapter, driver and
//!   variant when tuning is on, and cached in the miner's cache directory.

mod device;
mod search;
mod tuning;

use std::time::Duration;

pub use ixi_gpu::{GpuInfo, NO_ADAPTER, discover};
use ixi_kernels::pow::{Hit, PreparedJob, Target};
use ixi_kernels::wgsl::{GpuLayoutError, Variant};
pub use tuning::Tuning;

use super::{BackendError, NonceRange, Result, SearchBackend, SelectError};
use crate::job::Job;
use device::Context;

/// Hit slots per dispatch.
const HIT_CAPACITY: u32 = 1024;
/// A dispatch taking longer than this is a stalled device.
const WATCHDOG: Duration = Duration::from_secs(20);

/// Why the GPU search failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// The device failed: lost, stalled, a rejected pipeline, a failed readback.
    #[error(transparent)]
    Device(#[from] ixi_gpu::GpuError),
    /// The job's nonce layout cannot run on the GPU kernel.
    #[error(transparent)]
    Layout(#[from] GpuLayoutError),
    /// The tuning's synthetic nonce layout was refused.
    #[error(transparent)]
    Nonce(#[from] ixi_kernels::pow::LayoutError),
    /// The GPU reported a candidate the CPU does not confirm: the whole dispatch's result is
    /// discarded (and searched again by the scheduler's next batch).
    #[error(
        "wrong result from the GPU, discarded: counter {counter} (offset {offset} of {dispatched}, {candidates} candidates): top word {top:#018x} above the target's {target:#018x}"
    )]
    WrongResult {
        /// The counter the GPU reported.
        counter: u64,
        /// Its offset in the dispatch.
        offset: u32,
        /// Counters the dispatch searched.
        dispatched: u64,
        /// Candidates the dispatch reported.
        candidates: u32,
        /// The top word of the counter's real hash.
        top: u64,
        /// The target's top word.
        target: u64,
    },
}

/// How to open a GPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuOptions {
    /// Use the native 64-bit shader where the adapter offers `SHADER_INT64`.
    pub prefer_int64: bool,
    /// Take the dispatch geometry from the cache, or measure and cache it; without it the
    /// default geometry is used and no cache is read or written.
    pub tune: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            prefer_int64: true,
            tune: true,
        }
    }
}

/// The GPU search backend of one adapter.
pub struct GpuBackend {
    /// The adapter's index in [`discover`] order.
    index: usize,
    adapter: wgpu::Adapter,
    info: GpuInfo,
    variant: Variant,
    tuning: Tuning,
    /// Built on creation, dropped on a device fault, built again on the next call.
    context: Option<Context>,
    job: Option<PreparedJob>,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("info", &self.info)
            .field("variant", &self.variant)
            .field("tuning", &self.tuning)
            .finish_non_exhaustive()
    }
}

impl GpuBackend {
    /// The backend of adapter `index` (in [`discover`] order).
    ///
    /// # Errors
    /// [`BackendError::Select`] without such an adapter, [`BackendError::Gpu`] when it cannot
    /// be opened or tuned.
    pub fn new(index: usize, options: GpuOptions) -> Result<Self> {
        Self::new_observed(index, options, &mut |_| {})
    }

    /// As [`GpuBackend::new`], reporting each step of a first-use tuning to `on_tune`.
    ///
    /// # Errors
    /// As [`GpuBackend::new`].
    pub fn new_observed(
        index: usize,
        options: GpuOptions,
        on_tune: &mut dyn FnMut(super::TuneProgress),
    ) -> Result<Self> {
        let (adapter, info) = ixi_gpu::adapter(index).map_err(|e| SelectError::Unsupported {
            kind: super::BackendKind::Wgpu,
            reason: e.to_string(),
        })?;
        let variant = if options.prefer_int64 && info.int64 {
            Variant::U64
        } else {
            Variant::U32Pairs
        };
        let tuning = if options.tune {
            tuning::cached_or_measured(&adapter, &info, variant, on_tune)?
        } else {
            Tuning::default()
        };
        let context =
            Context::new(&adapter, variant, tuning.workgroup_size).map_err(GpuError::from)?;
        Ok(Self {
            index,
            adapter,
            info,
            variant,
            tuning,
            context: Some(context),
            job: None,
        })
    }

    /// The adapter.
    #[must_use]
    pub fn info(&self) -> &GpuInfo {
        &self.info
    }

    /// The shader variant in use.
    #[must_use]
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The dispatch geometry in use.
    #[must_use]
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// The device context, built again after a fault dropped it.
    fn context(&mut self) -> Result<&mut Context, GpuError> {
        let context = match self.context.take() {
            Some(c) => c,
            None => Context::new(&self.adapter, self.variant, self.tuning.workgroup_size)?,
        };
        Ok(self.context.insert(context))
    }
}

impl SearchBackend for GpuBackend {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn device(&self) -> String {
        format!("gpu{}", self.index)
    }

    fn variant(&self) -> &'static str {
        self.variant.name()
    }

    fn preferred_batch(&self) -> u64 {
        // Eight dispatches per batch: the pipeline stays full within a call.
        8 * u64::from(self.tuning.dispatch)
    }

    fn load_job(&mut self, job: &Job) -> Result<()> {
        let prepared = PreparedJob::new(job.prefix(), job.layout());
        if prepared.device_view(0).is_none() {
            return Err(GpuError::Layout(GpuLayoutError::NoFastBytes).into());
        }
        self.context()?;
        self.job = Some(prepared);
        Ok(())
    }

    fn search(&mut self, range: NonceRange, target: &Target, hits: &mut Vec<Hit>) -> Result<u64> {
        let job = self.job.clone().ok_or(BackendError::NoJob)?;
        Ok(self.search_job(&job, range, target, hits)?)
    }
}
