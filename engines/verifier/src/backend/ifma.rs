//! Eight signatures per AVX-512 IFMA vector, each lane with its own key.
//!
//! Items are checked for length and range first (no arithmetic for those that fail), then
//! grouped by limb count and exponent, since the lanes of a vector run the same operations; each
//! group is cut into vectors of eight and the vectors are spread over the thread pool. Keys the
//! vector path does not cover (exponents over 64 bits, moduli over 8192 bits) take the scalar
//! path, so every item gets its verdict.

use ixi_kernels::cpu::IfmaToken;
use ixi_kernels::mont::{PowBatch, PowKernel, limbs_from_be_bytes_into, limbs_to_be_bytes_into};
use rayon::prelude::*;

use super::VerifyBackend;
use super::scalar::verify_one_scalar;
use crate::digest::sha512_into;
use crate::item::VerifyItem;
use crate::padding::is_encoding_of_digest;

/// The IFMA backend.
#[derive(Debug)]
pub struct IfmaBackend {
    kernel: PowKernel,
    pool: rayon::ThreadPool,
}

impl IfmaBackend {
    /// A backend running on `pool`; the token proves the CPU has AVX-512 IFMA.
    #[must_use]
    pub fn new(token: IfmaToken, pool: rayon::ThreadPool) -> Self {
        Self {
            kernel: PowKernel::Ifma(token),
            pool,
        }
    }

    /// The same grouping and lanes with the portable kernel: the vector path's specification,
    /// for tests.
    #[must_use]
    pub fn portable(pool: rayon::ThreadPool) -> Self {
        Self {
            kernel: PowKernel::Scalar,
            pool,
        }
    }
}

/// What each item needs from the vector path.
enum Route {
    /// Fails its length or range check, or no SHA-512 encoding fits: false.
    Reject,
    /// Not covered by the vector path.
    Scalar,
    /// Covered: group key (limbs, exponent).
    Vector(usize, u64),
}

fn route(item: &VerifyItem<'_>) -> Route {
    let key = item.key;
    if !key.signature_in_range(item.signature) {
        return Route::Reject;
    }
    match (key.montgomery(), key.exponent_u64()) {
        (Some(m), Some(e)) if e >= 1 => Route::Vector(m.limbs(), e),
        _ => Route::Scalar,
    }
}

impl VerifyBackend for IfmaBackend {
    fn name(&self) -> &'static str {
        match self.kernel {
            PowKernel::Ifma(_) => "ifma",
            PowKernel::Scalar => "ifma-portable",
        }
    }

    fn verify_batch(&self, items: &[VerifyItem<'_>], ok: &mut [bool]) {
        let kernel = self.kernel;
        // Everything, routing included, runs on the pool: the calling thread would otherwise
        // share a core with a worker spinning for work.
        let verdicts: Vec<(usize, bool)> = self.pool.install(|| {
            // Routing compares every signature with its modulus: in parallel, since whatever
            // runs alone here idles the other threads.
            let routes: Vec<Route> = items.par_iter().map(route).collect();
            let mut scalar = Vec::new();
            let mut keyed: Vec<((usize, u64), usize)> = Vec::new();
            for (i, r) in routes.into_iter().enumerate() {
                match r {
                    Route::Reject => {}
                    Route::Scalar => scalar.push(i),
                    Route::Vector(limbs, e) => keyed.push(((limbs, e), i)),
                }
            }
            // Stable and adaptive: a batch of one key size is one sorted run, checked in one
            // pass; mixed sizes come out grouped, each group in batch order.
            keyed.sort_by_key(|&(key, _)| key);
            let indices: Vec<usize> = keyed.iter().map(|&(_, i)| i).collect();
            let mut vectors: Vec<(u64, &[usize])> = Vec::new();
            let mut start = 0;
            for group in keyed.chunk_by(|a, b| a.0 == b.0) {
                let ((_, e), _) = group[0];
                let lanes = &indices[start..start + group.len()];
                vectors.extend(lanes.chunks(8).map(|c| (e, c)));
                start += group.len();
            }
            let vector_verdicts = vectors
                .par_iter()
                .flat_map_iter(|&(e, lanes)| verify_vector(kernel, items, lanes, e));
            let scalar_verdicts = scalar.par_iter().map(|&i| {
                let it = &items[i];
                (i, verify_one_scalar(it.key, it.message, it.signature))
            });
            vector_verdicts.chain(scalar_verdicts).collect()
        });
        ok.fill(false);
        for (i, verdict) in verdicts {
            ok[i] = verdict;
        }
    }
}

/// Verifies up to eight items that share limb count and exponent.
fn verify_vector(
    kernel: PowKernel,
    items: &[VerifyItem<'_>],
    lanes: &[usize],
    exponent: u64,
) -> Vec<(usize, bool)> {
    let mut moduli = Vec::with_capacity(lanes.len());
    for &i in lanes {
        // Routed here only with a Montgomery modulus.
        let Some(m) = items[i].key.montgomery() else {
            return lanes.iter().map(|&i| (i, false)).collect();
        };
        moduli.push(m);
    }
    let limbs = moduli.first().map_or(0, |m| m.limbs());
    // One buffer for the bases and one for the results, not one per lane.
    let mut bases = vec![0u64; lanes.len() * limbs];
    for (&i, base) in lanes.iter().zip(bases.chunks_exact_mut(limbs)) {
        limbs_from_be_bytes_into(items[i].signature, base);
    }
    let base_refs: Vec<&[u64]> = bases.chunks_exact(limbs).collect();
    let mut results = vec![0u64; lanes.len() * limbs];
    kernel.pow_into(
        &PowBatch {
            moduli: &moduli,
            bases: &base_refs,
            exponent,
        },
        &mut results,
    );
    let messages: Vec<&[u8]> = lanes.iter().map(|&i| items[i].message).collect();
    let mut digests = vec![[0u8; 64]; messages.len()];
    // The eight messages in AVX-512 lanes beside the IFMA kernel, one by one beside the
    // portable one.
    let avx512 = match kernel {
        PowKernel::Ifma(token) => Some(token.avx512()),
        _ => None,
    };
    sha512_into(avx512, &messages, &mut digests);
    let mut encoded = Vec::new();
    lanes
        .iter()
        .zip(results.chunks_exact(limbs))
        .zip(&digests)
        .map(|((&i, result), digest)| {
            encoded.resize(items[i].key.modulus_len(), 0);
            limbs_to_be_bytes_into(result, &mut encoded);
            (i, is_encoding_of_digest(&encoded, digest))
        })
        .collect()
}
