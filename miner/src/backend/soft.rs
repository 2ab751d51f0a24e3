//! The portable scalar backend: the generic search with the `u64` lane.

use ixi_kernels::pow::{Hit, PreparedJob, Target, search};

use super::{BackendError, NonceRange, SearchBackend};
use crate::job::Job;

/// Scalar Keccak with the per-job midstate; runs everywhere.
#[derive(Debug, Default)]
pub struct SoftBackend {
    job: Option<PreparedJob>,
}

impl SoftBackend {
    /// A backend with no job loaded.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl SearchBackend for SoftBackend {
    fn name(&self) -> &'static str {
        "soft"
    }

    fn preferred_batch(&self) -> u64 {
        1 << 16
    }

    fn load_job(&mut self, job: &Job) -> Result<(), BackendError> {
        self.job = Some(PreparedJob::new(job.prefix(), job.layout()));
        Ok(())
    }

    fn search(
        &mut self,
        range: NonceRange,
        target: &Target,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, BackendError> {
        let job = self.job.as_ref().ok_or(BackendError::NoJob)?;
        Ok(search::<u64>(job, target, range.start, range.count, hits))
    }
}
