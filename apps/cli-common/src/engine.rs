//! `--backend` and `--threads`, as both worker binaries take them.

use std::num::NonZeroUsize;

use ixi_kernels::select::{BackendChoice, BackendKind};

/// Parses `--backend` (and its environment variable) for an engine's kinds; the message names
/// the kinds that exist.
///
/// # Errors
/// The unknown name, with the list of known ones.
pub fn parse_backend<K: BackendKind>(s: &str) -> Result<BackendChoice<K>, String> {
    s.parse()
        .map_err(|e: ixi_kernels::select::SelectError<K>| e.to_string())
}

/// `--threads`, or one per core when it is not given.
#[must_use]
pub fn threads_or_all(threads: Option<NonZeroUsize>) -> usize {
    threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
}
