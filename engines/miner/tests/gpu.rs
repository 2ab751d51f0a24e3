//! The GPU backend against the plain path: the WGSL double hash equals `sha3` on random inputs
//! and every nonce length, the GPU search finds exactly the CPU's hits over the same range, and
//! the pow vectors pass through it. Each variant (u32 pairs, native u64 where offered) is
//! tested. Without a Vulkan adapter the tests say why they skip, and fail under REQUIRE_GPU=1
//! (CI installs Mesa's lavapipe).

#![cfg(feature = "gpu")]
// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::{NonceLayout, PreparedJob, Target};
use ixi_kernels::wgsl::{GpuLayoutError, Variant};
use ixi_miner::backend::gpu::{self, GpuBackend, GpuError, GpuOptions};
use ixi_miner::backend::{BackendError, CpuBackend, NonceRange, SearchBackend};
use ixi_miner::job::Job;
use ixi_miner::selfcheck;
use rand::{Rng as _, RngCore as _};

/// The default geometry, so that a test never depends on a tuning cache.
fn no_tuning(prefer_int64: bool) -> GpuOptions {
    GpuOptions {
        prefer_int64,
        tune: false,
    }
}

/// Runs `check` on one backend per shader variant the first Vulkan adapter runs; without a
/// Vulkan adapter, says why the test skips, or fails under REQUIRE_GPU=1.
fn for_each_variant(test: &str, mut check: impl FnMut(&mut GpuBackend)) {
    let gpus = gpu::discover();
    let Some(vulkan) = gpus.iter().find(|g| g.backend == "Vulkan") else {
        let why =
            format!("no Vulkan adapter (found {gpus:?}); install mesa-vulkan-drivers for lavapipe");
        if std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_GPU=1 but {why}");
        }
        eprintln!("{test}: skipped: {why}");
        return;
    };
    let mut backends = vec![GpuBackend::new(vulkan.index, no_tuning(false)).unwrap()];
    if vulkan.int64 {
        backends.push(GpuBackend::new(vulkan.index, no_tuning(true)).unwrap());
    }
    assert_eq!(backends[0].variant(), Variant::U32Pairs);
    eprintln!(
        "{test}: on {} ({}, {}, driver {}), variants {:?}",
        vulkan.name,
        vulkan.backend,
        vulkan.device_type,
        vulkan.driver,
        backends.iter().map(GpuBackend::variant).collect::<Vec<_>>()
    );
    for backend in &mut backends {
        check(backend);
    }
}

fn job(prefix_len: usize, nonce_len: usize, counter_len: usize) -> Job {
    let mut rng = rand::rng();
    let mut prefix = vec![0u8; prefix_len];
    rng.fill_bytes(&mut prefix);
    let mut template = vec![0u8; nonce_len];
    rng.fill_bytes(&mut template);
    let layout = NonceLayout::new(template, counter_len).unwrap();
    Job::with_layout(1, prefix, IxiNumber::from_whole(1), layout).unwrap()
}

/// A target whose most significant word is `top` (and every lower bit set).
fn target_with_top(top: u64) -> Target {
    let mut bound = [0xff; 64];
    bound[56..].copy_from_slice(&top.to_le_bytes());
    Target::from_bound(&bound)
}

#[test]
fn wgsl_double_hash_matches_plain_sha3_for_every_nonce_length() {
    let mut rng = rand::rng();
    for_each_variant("wgsl_double_hash", |backend| {
        let mut checked = 0;
        for nonce_len in 2..=64 {
            let counter_len = rng.random_range(1..=nonce_len.min(8));
            let prefix_len = rng.random_range(60..260);
            let job = job(prefix_len, nonce_len, counter_len);
            let prepared = PreparedJob::new(job.prefix(), job.layout());
            match backend.load_job(&job) {
                Ok(()) => {}
                Err(BackendError::Gpu(GpuError::Layout(GpuLayoutError::NoFastBytes)))
                    if prepared.device_view(0).is_none() =>
                {
                    continue;
                }
                Err(e) => panic!("{e}"),
            }
            let span = u64::from(GpuBackend::HASH_EACH_MAX);
            let max = prepared.max_counter();
            // Random bases, and one just below a carry into the counter's high word.
            for base in [
                rng.random_range(0..=max.saturating_sub(span)),
                (1u64 << 32)
                    .min(max.saturating_sub(span) + 1)
                    .saturating_sub(7),
            ] {
                let segment = prepared.segment_len();
                // Stay inside one segment, as dispatches do.
                let n = if segment == u64::MAX {
                    span
                } else {
                    span.min(segment - base % segment)
                };
                let hashes = backend.hash_each(base, u32::try_from(n).unwrap()).unwrap();
                for (i, h) in hashes.iter().enumerate() {
                    let counter = base + i as u64;
                    assert_eq!(
                        *h,
                        prepared.hash_of(counter),
                        "{:?}: prefix {prefix_len}, nonce {nonce_len}, counter bytes {counter_len}, counter {counter}",
                        backend.variant()
                    );
                }
                checked += hashes.len();
            }
        }
        assert!(checked > 10_000, "{checked} hashes compared");
    });
}

fn sorted_hits(backend: &mut dyn SearchBackend, range: NonceRange, target: &Target) -> Vec<u64> {
    let mut hits = Vec::new();
    let done = backend.search(range, target, &mut hits).unwrap();
    assert_eq!(done, range.count);
    let mut counters: Vec<u64> = hits.iter().map(|h| h.counter).collect();
    counters.sort_unstable();
    counters
}

#[test]
fn gpu_search_finds_exactly_the_cpu_hits() {
    let mut cpu = CpuBackend::soft();
    for_each_variant("gpu_search", |backend| {
        // The usual layout (2 permutations, fast bytes across a lane boundary), and a 12-byte
        // nonce whose counter straddles the last two blocks (segments).
        for (prefix_len, nonce_len, counter_len) in [(178, 32, 8), (133, 12, 6)] {
            let job = job(prefix_len, nonce_len, counter_len);
            backend.load_job(&job).unwrap();
            cpu.load_job(&job).unwrap();
            let start = rand::rng().random_range(0..1u64 << 30);
            let range = NonceRange {
                start,
                count: 1 << 15,
            };
            // About 1 in 256 meets the top word: hits through the hit buffer. 1 in 4 overflows
            // it: the dispatch is searched again on the CPU.
            for top in [1u64 << 56, u64::MAX / 4, 0] {
                let target = target_with_top(top);
                let gpu_hits = sorted_hits(backend, range, &target);
                let cpu_hits = sorted_hits(&mut cpu, range, &target);
                assert_eq!(gpu_hits, cpu_hits, "{:?} top {top:#x}", backend.variant());
                if top > 0 {
                    assert!(!cpu_hits.is_empty());
                }
            }
        }
    });
}

#[test]
fn pow_vectors_pass_through_the_gpu() {
    for_each_variant("gpu_pow_vectors", |backend| {
        let compared = selfcheck::run(backend).unwrap();
        assert!(compared > 0);
    });
}
