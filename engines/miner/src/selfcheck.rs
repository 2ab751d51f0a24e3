//! The known-answer check `bench` (and anyone else) runs on a backend before trusting it.
//!
//! 1. Known answers from the reference vectors: the backend must find the reference's mined
//!    nonce, with the reference's hash, when searching a small range around it at the
//!    reference's difficulty.
//! 2. A differential run: every hit of an easy target over a random job must equal what the
//!    plain `sha3` path computes, and no hit may be missing.

use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_kernels::pow::NonceLayout;
use rand::RngCore as _;

use crate::backend::{BackendError, NonceRange, SearchBackend};
use crate::job::Job;

#[path = "selfcheck_data.rs"]
mod data;

/// Why a backend failed its self-check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SelfCheckError {
    /// The backend's results differ from the known answer or the plain path.
    #[error("self-check FAILED on backend {backend}, {case}: {detail}")]
    Mismatch {
        /// The backend.
        backend: &'static str,
        /// Which check.
        case: String,
        /// What differed.
        detail: String,
    },
    /// The backend itself failed.
    #[error("self-check could not run on backend {backend}: {source}")]
    Backend {
        /// The backend.
        backend: &'static str,
        /// Its error.
        source: BackendError,
    },
}

/// Runs every check on `backend`; returns the number of hashes compared.
///
/// # Errors
/// [`SelfCheckError`] naming the first check that failed.
///
/// # Panics
/// Never: the embedded known answers are valid hex (a unit test parses them).
pub fn run(backend: &mut dyn SearchBackend) -> Result<u64, SelfCheckError> {
    let name = backend.name();
    let as_backend_err = |source| SelfCheckError::Backend {
        backend: name,
        source,
    };
    let mut compared = 0;
    for (id, prefix, nonce, hash, raw) in data::KNOWN_ANSWERS {
        let mismatch = |detail: String| SelfCheckError::Mismatch {
            backend: name,
            case: format!("known answer {id}"),
            detail,
        };
        #[allow(clippy::expect_used)]
        let (prefix, nonce, hash) = (
            hex::decode(prefix).expect("embedded hex"),
            hex::decode(nonce).expect("embedded hex"),
            hex::decode(hash).expect("embedded hex"),
        );
        #[allow(clippy::expect_used)]
        let min: IxiNumber = IxiNumber::from_raw(raw.parse::<u64>().expect("embedded integer"));
        let mut tail = [0u8; 8];
        tail.copy_from_slice(&nonce[nonce.len() - 8..]);
        let counter = u64::from_be_bytes(tail);
        #[allow(clippy::expect_used)]
        let layout = NonceLayout::new(nonce.clone(), 8).expect("32-byte nonce");
        #[allow(clippy::expect_used)]
        let job = Job::with_layout(0, prefix, min, layout).expect("valid known answer");
        backend.load_job(&job).map_err(as_backend_err)?;
        let start = counter.saturating_sub(5);
        let mut hits = Vec::new();
        let done = backend
            .search(NonceRange { start, count: 11 }, job.min_target(), &mut hits)
            .map_err(as_backend_err)?;
        compared += done;
        match hits.iter().find(|h| h.counter == counter) {
            None => {
                return Err(mismatch(format!(
                    "did not find nonce {}",
                    hex::encode(&nonce)
                )));
            }
            Some(h) if h.hash[..] != hash[..] => {
                return Err(mismatch(format!(
                    "hash {} expected {}",
                    hex::encode(h.hash),
                    hex::encode(&hash)
                )));
            }
            Some(_) => {}
        }
    }

    // Differential: an easy target accepts about half of all hashes.
    let mut rng = rand::rng();
    let mut prefix = vec![0u8; 178];
    rng.fill_bytes(&mut prefix);
    let mut template = vec![0u8; 32];
    rng.fill_bytes(&mut template);
    #[allow(clippy::expect_used)]
    let layout = NonceLayout::new(template, 8).expect("32-byte nonce");
    #[allow(clippy::expect_used)]
    let job = Job::with_layout(0, prefix.clone(), IxiNumber::from_raw(1), layout.clone())
        .expect("valid job");
    backend.load_job(&job).map_err(as_backend_err)?;
    let start = rng.next_u64() >> 1;
    let count = 333;
    let mut hits = Vec::new();
    compared += backend
        .search(NonceRange { start, count }, job.min_target(), &mut hits)
        .map_err(as_backend_err)?;
    let expected: Vec<(u64, [u8; 64])> = (start..start + count)
        .filter_map(|c| {
            let h = solution::hash_with_prefix(&prefix, &layout.nonce_for(c)).ok()?;
            job.min_target().accepts(&h).then_some((c, h))
        })
        .collect();
    let got: Vec<(u64, [u8; 64])> = hits.iter().map(|h| (h.counter, h.hash)).collect();
    if got != expected {
        return Err(SelfCheckError::Mismatch {
            backend: name,
            case: "differential run against plain sha3".into(),
            detail: format!("{} hits, expected {}", got.len(), expected.len()),
        });
    }
    Ok(compared)
}
