//! The CPU backends: the generic search with the lane width the backend's token allows.

use ixi_kernels::pow::{Hit, PreparedJob, Target};
use ixi_kernels::simd::SearchKernel;

use super::{BackendError, NonceRange, Result, SearchBackend};
use crate::job::Job;

/// A CPU backend: scalar, AVX2 or AVX-512 lanes, chosen once at construction.
#[derive(Debug)]
pub struct CpuBackend {
    kernel: SearchKernel,
    job: Option<PreparedJob>,
}

impl CpuBackend {
    /// The portable scalar backend.
    #[must_use]
    pub fn soft() -> Self {
        Self::with_kernel(SearchKernel::Scalar)
    }

    /// A backend running `kernel` (whose token proves the CPU runs it).
    #[must_use]
    pub fn with_kernel(kernel: SearchKernel) -> Self {
        Self { kernel, job: None }
    }
}

impl SearchBackend for CpuBackend {
    fn name(&self) -> &'static str {
        match self.kernel {
            SearchKernel::Scalar => "soft",
            kernel => kernel.name(),
        }
    }

    fn variant(&self) -> &'static str {
        self.kernel.name()
    }

    fn preferred_batch(&self) -> u64 {
        // About 50 ms of work at each kernel's speed on a 3 GHz core: job switches stay quick
        // and the shared cursor is touched rarely.
        match self.kernel {
            SearchKernel::Scalar => 1 << 16,
            SearchKernel::Avx2(_) | SearchKernel::Avx512Ymm(_) => 1 << 18,
            SearchKernel::Avx512(_) | SearchKernel::Avx512ExplicitD(_) => 1 << 19,
        }
    }

    fn load_job(&mut self, job: &Job) -> Result<()> {
        self.job = Some(PreparedJob::new(job.prefix(), job.layout()));
        Ok(())
    }

    fn search(&mut self, range: NonceRange, target: &Target, hits: &mut Vec<Hit>) -> Result<u64> {
        let job = self.job.as_ref().ok_or(BackendError::NoJob)?;
        Ok(self
            .kernel
            .search(job, target, range.start, range.count, hits))
    }
}
