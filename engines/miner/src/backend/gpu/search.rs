//! The search over a counter range: dispatches of the tuned size, two in flight, each one's
//! candidates confirmed on the CPU's plain path.

use ixi_kernels::pow::{Hit, PreparedJob, Target};
use ixi_kernels::simd::SearchKernel;
use ixi_kernels::wgsl::SearchParams;

use super::device::{HASH_EACH_MAX, InFlight};
use super::{GpuBackend, GpuError, HIT_CAPACITY};
use crate::backend::{BackendError, NonceRange};

impl GpuBackend {
    /// Most hashes one [`GpuBackend::hash_each`] call returns.
    pub const HASH_EACH_MAX: u32 = HASH_EACH_MAX;

    /// Searches `range` of `job`; returns the attempts made. On a device fault the context is
    /// dropped (built again on the next call) and the first error returned; hits confirmed
    /// before it are kept.
    pub(super) fn search_job(
        &mut self,
        job: &PreparedJob,
        range: NonceRange,
        target: &Target,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, GpuError> {
        let end = range
            .start
            .saturating_add(range.count)
            .min(job.max_counter().saturating_add(1));
        let segment = job.segment_len();
        let dispatch = self.tuning.dispatch;
        let mut next = range.start;
        let mut pending: Option<InFlight> = None;
        let mut slot = 0;
        let mut first_error = None;
        while next < end || pending.is_some() {
            let mut launched = None;
            if next < end {
                // A dispatch stays inside one segment: the midstate is per segment.
                let segment_end = if segment == u64::MAX {
                    u64::MAX
                } else {
                    (next / segment + 1).saturating_mul(segment)
                };
                let count = (end - next)
                    .min(u64::from(dispatch))
                    .min(segment_end - next);
                // At most `dispatch`, a u32.
                let invocations = u32::try_from(count).unwrap_or(dispatch);
                let params = SearchParams::new(job, next, invocations, target, HIT_CAPACITY)?;
                launched = Some(self.context()?.submit(slot, &params, next, count));
                slot ^= 1;
                next += count;
            }
            if let Some(done) = pending.take()
                && let Err(e) = self.finish(job, &done, target, hits)
            {
                first_error.get_or_insert(e);
                if self.context.is_none() {
                    break;
                }
            }
            pending = launched;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(next - range.start),
        }
    }

    /// Reads one finished dispatch: confirms each candidate on the CPU and pushes the hits.
    fn finish(
        &mut self,
        job: &PreparedJob,
        f: &InFlight,
        target: &Target,
        hits: &mut Vec<Hit>,
    ) -> Result<(), GpuError> {
        let (count, mut counters) = match self.context()?.collect(f) {
            Ok(r) => r,
            Err(e) => {
                // Built anew on the next call.
                self.context = None;
                return Err(e.into());
            }
        };
        if count > HIT_CAPACITY {
            // More candidates than slots: the CPU searches this dispatch again, exactly.
            let _ = SearchKernel::Scalar.search(job, target, f.base, f.count, hits);
            return Ok(());
        }
        let mut wrong = None;
        // Hits in counter order, as the CPU backends find them (the atomic order is arbitrary).
        counters.sort_unstable();
        for offset in counters {
            let counter = f.base + u64::from(offset);
            let hash = job.hash_of(counter);
            let mut top = [0u8; 8];
            top.copy_from_slice(&hash[56..]);
            let top = u64::from_le_bytes(top);
            if u64::from(offset) >= f.count || top > target.most_significant() {
                wrong.get_or_insert(GpuError::WrongResult {
                    counter,
                    offset,
                    dispatched: f.count,
                    candidates: count,
                    top,
                    target: target.most_significant(),
                });
            } else if target.accepts(&hash) {
                hits.push(Hit { counter, hash });
            }
        }
        wrong.map_or(Ok(()), Err)
    }

    /// The full hash of counters `base .. base + n` of the loaded job (`n` at most
    /// [`GpuBackend::HASH_EACH_MAX`]), computed by the shader's `hash_each` entry point
    /// (exactness tests and diagnostics).
    ///
    /// # Errors
    /// [`BackendError::NoJob`], or the device's error.
    pub fn hash_each(&mut self, base: u64, n: u32) -> Result<Vec<[u8; 64]>, BackendError> {
        let n = n.min(Self::HASH_EACH_MAX);
        let job = self.job.clone().ok_or(BackendError::NoJob)?;
        let params = SearchParams::new(&job, base, n, &Target::from_bound(&[0; 64]), 0)
            .map_err(GpuError::from)?;
        let words = self
            .context()?
            .hash_each(&params, n)
            .map_err(GpuError::from)?;
        Ok(words
            .chunks_exact(16)
            .take(usize::try_from(n).unwrap_or(0))
            .map(|c| {
                let mut h = [0u8; 64];
                for (dst, w) in h.chunks_exact_mut(4).zip(c) {
                    dst.copy_from_slice(&w.to_le_bytes());
                }
                h
            })
            .collect())
    }
}
