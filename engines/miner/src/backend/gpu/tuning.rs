//! The dispatch geometry of one device: workgroup size (a WGSL `override`) and invocations
//! per dispatch, measured on first use per adapter, driver and variant, and cached.

use std::time::{Duration, Instant};

use ixi_gpu::GpuInfo;
use ixi_kernels::pow::{NonceLayout, PreparedJob, Target};
use ixi_kernels::wgsl::{self, SearchParams, Variant};
use serde_json::json;

use super::HIT_CAPACITY;
use super::device::Context;
use crate::cache;

/// The cache file of GPU tunings, one entry per adapter, driver and variant.
const CACHE_FILE: &str = "gpu-tuning.json";

/// Dispatch geometry of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Invocations per dispatch.
    pub dispatch: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            workgroup_size: wgsl::DEFAULT_WORKGROUP_SIZE,
            dispatch: 1 << 18,
        }
    }
}

fn cache_key(info: &GpuInfo, variant: Variant) -> String {
    format!(
        "{} | {} | {} | {}",
        info.name,
        info.backend,
        info.driver,
        variant.name()
    )
}

/// The cached tuning of this adapter and variant, or a new measurement (then cached).
pub(super) fn cached_or_measured(
    adapter: &wgpu::Adapter,
    info: &GpuInfo,
    variant: Variant,
) -> Result<Tuning, super::GpuError> {
    let key = cache_key(info, variant);
    let cached = cache::load(CACHE_FILE, &key).and_then(|entry| {
        let field = |name| u32::try_from(entry.get(name)?.as_u64()?).ok();
        Some(Tuning {
            workgroup_size: field("workgroupSize")?,
            dispatch: field("dispatch")?,
        })
    });
    if let Some(t) = cached {
        return Ok(t);
    }
    let t = measure(adapter, variant)?;
    cache::store(
        CACHE_FILE,
        &key,
        json!({"workgroupSize": t.workgroup_size, "dispatch": t.dispatch}),
    );
    Ok(t)
}

/// Measures workgroup sizes and dispatch sizes on a synthetic job (about a second on a real
/// GPU) and returns the fastest.
fn measure(adapter: &wgpu::Adapter, variant: Variant) -> Result<Tuning, super::GpuError> {
    // A 32-byte nonce with an 8-byte counter, as the miner mines by default.
    let job = PreparedJob::new(&[0x42; 178], &NonceLayout::new(vec![0x5a; 32], 8)?);
    // A target nothing meets: only the kernel's own speed is measured.
    let target = Target::from_bound(&[0; 64]);
    let mut best = (0.0f64, Tuning::default());
    for workgroup_size in [64u32, 128, 256] {
        let context = Context::new(adapter, variant, workgroup_size)?;
        let mut dispatch = 1u32 << 14;
        loop {
            let params = SearchParams::new(&job, 0, dispatch, &target, HIT_CAPACITY)?;
            let started = Instant::now();
            let in_flight = context.submit(0, &params, 0, u64::from(dispatch));
            context.collect(&in_flight)?;
            let took = started.elapsed();
            let rate = f64::from(dispatch) / took.as_secs_f64().max(1e-9);
            if rate > best.0 {
                best = (
                    rate,
                    Tuning {
                        workgroup_size,
                        dispatch,
                    },
                );
            }
            // Large enough that launch overhead is amortized, small enough for quick job
            // switches and the watchdog.
            if took >= Duration::from_millis(40) || dispatch >= 1 << 24 {
                break;
            }
            dispatch <<= 1;
        }
    }
    Ok(best.1)
}
