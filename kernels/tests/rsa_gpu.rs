//! The WGSL RSA kernel on a real adapter (lavapipe in CI), below the verifier's backend: the
//! `exponentiate` entry point equals `BigUint::modpow` on a mixed batch (2048- and 4096-bit
//! keys, odd sizes, several exponents and the edge bases), for each variant the adapter runs,
//! and `verify` reports a key of another size class instead of computing with the wrong `R`.
//! The verdicts themselves are tested through the backend (`ixi-verifier`'s `gpu` tests).
//! Without a Vulkan adapter the tests say why they skip, and fail under `REQUIRE_GPU=1`.
//!
//! The harness is small and test-only, on the shared [`ixi_gpu::Device`]: one device per
//! variant with exactly the features that variant needs, one dispatch per (size class,
//! exponent) group, all in one submission.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ixi_gpu::Device;
use ixi_kernels::rsa_wgsl::{DEFAULT_WORKGROUP_SIZE, GpuItem, GpuKey, GpuParams, Variant, Verdict};
use num_bigint::BigUint;
use rand::Rng as _;

use crate::support;

/// Longest a batch may take on lavapipe before the test calls the device stalled.
const WATCHDOG: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Verify,
    Exponentiate,
}

/// One variant on one device with exactly the features the variant needs.
struct Gpu {
    variant: Variant,
    device: Device,
    verify: wgpu::ComputePipeline,
    exponentiate: wgpu::ComputePipeline,
}

/// Every variant the first Vulkan adapter runs, or `None` (with the reason printed) when there
/// is none and REQUIRE_GPU is not set.
fn gpus_or_skip(test: &str) -> Option<Vec<Gpu>> {
    let Some(info) = ixi_gpu::discover()
        .into_iter()
        .find(|g| g.backend == "Vulkan")
    else {
        let why = "no Vulkan adapter; install mesa-vulkan-drivers for lavapipe";
        if std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_GPU=1 but {why}");
        }
        eprintln!("{test}: skipped: {why}");
        return None;
    };
    let (adapter, _) = ixi_gpu::adapter(info.index).unwrap();
    eprintln!(
        "{test}: on {} ({}, {}, driver {}), SHADER_INT64: {}",
        info.name, info.backend, info.device_type, info.driver, info.int64
    );
    let mut gpus = vec![Gpu::new(&adapter, Variant::U32)];
    if info.int64 {
        gpus.push(Gpu::new(&adapter, Variant::U64));
    } else {
        eprintln!("{test}: the u64 variant skipped: the adapter lacks SHADER_INT64");
    }
    Some(gpus)
}

impl Gpu {
    fn new(adapter: &wgpu::Adapter, variant: Variant) -> Self {
        let features = ixi_gpu::int64_features(variant.needs_int64());
        let device = Device::open(adapter, features, "ixi rsa test").unwrap();
        let started = Instant::now();
        let pipeline = |entry: &'static str| {
            device
                .compute_pipeline(entry, variant.source(), entry, DEFAULT_WORKGROUP_SIZE)
                .unwrap_or_else(|e| panic!("{variant:?}: {e}"))
        };
        let (verify, exponentiate) = (pipeline("verify"), pipeline("exponentiate"));
        eprintln!("{variant:?}: pipelines built in {:.1?}", started.elapsed());
        Self {
            variant,
            device,
            verify,
            exponentiate,
        }
    }

    /// A storage buffer holding `bytes` (storage bindings may not be empty).
    fn upload(&self, label: &str, bytes: &[u8], extra: wgpu::BufferUsages) -> wgpu::Buffer {
        let size = (bytes.len().max(4) as u64).next_multiple_of(4);
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST | extra;
        let buffer = self.device.buffer(label, size, usage);
        if !bytes.is_empty() {
            self.device.queue().write_buffer(&buffer, 0, bytes);
        }
        buffer
    }

    /// Runs `dispatches` over the given buffers' contents in one submission and returns the
    /// first `out_words` words of the output buffer.
    fn dispatch(
        &self,
        entry: Entry,
        keys: &[GpuKey],
        items: &[GpuItem],
        signatures: &[u32],
        dispatches: &[GpuParams],
        out_words: usize,
    ) -> Vec<u32> {
        let none = wgpu::BufferUsages::empty();
        let keys = self.upload("keys", bytemuck::cast_slice(keys), none);
        let items = self.upload("items", bytemuck::cast_slice(items), none);
        let signatures = self.upload("signatures", bytemuck::cast_slice(signatures), none);
        let out_bytes = vec![0u8; out_words * 4];
        let out = self.upload("out", &out_bytes, wgpu::BufferUsages::COPY_SRC);
        let readback = self.device.buffer(
            "readback",
            out.size(),
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let pipeline = match entry {
            Entry::Verify => &self.verify,
            Entry::Exponentiate => &self.exponentiate,
        };
        let layout = pipeline.get_bind_group_layout(0);
        let bind_groups: Vec<wgpu::BindGroup> = dispatches
            .iter()
            .map(|p| {
                let uniform = self.device.buffer(
                    "params",
                    size_of::<GpuParams>() as u64,
                    wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                );
                self.device
                    .queue()
                    .write_buffer(&uniform, 0, bytemuck::bytes_of(p));
                self.device.bind_group(
                    &layout,
                    &[
                        (0, &uniform),
                        (1, &keys),
                        (2, &items),
                        (3, &signatures),
                        (4, &out),
                    ],
                )
            })
            .collect();
        let mut encoder = self
            .device
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            for (p, group) in dispatches.iter().zip(&bind_groups) {
                let groups = p
                    .count
                    .div_ceil(p.items_per_workgroup(DEFAULT_WORKGROUP_SIZE));
                let (x, y) = ixi_gpu::grid(u64::from(groups));
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        encoder.copy_buffer_to_buffer(&out, 0, &readback, 0, None);
        let submission = self.device.queue().submit([encoder.finish()]);
        self.device
            .read_words_after(&readback, submission, out_words, WATCHDOG)
            .expect("the device finished within the watchdog")
    }
}

/// Random moduli of the two sizes that matter and a few odd ones; bases with the edges 0, 1,
/// n - 1; exponents 65537 mostly, and 3, 1, 2, 2^64 - 1, a random 64-bit one, a random small
/// one: all in one batch of 1000 items (`IXI_GPU_TEST_ITEMS` for more), grouped by (size
/// class, exponent) into one dispatch per group.
#[test]
fn gpu_exponentiation_equals_modpow_on_a_mixed_batch() {
    let Some(gpus) = gpus_or_skip("gpu_exponentiation") else {
        return;
    };
    let mut rng = support::rng("gpu_exponentiation");
    let mut moduli: Vec<BigUint> = Vec::new();
    for bits in [2048u64, 2048, 2048, 4096, 4096, 4096, 1000, 3000, 4095] {
        moduli.push(support::random_odd_modulus(&mut rng, bits));
    }
    moduli.push((BigUint::from(1u8) << 4096) - 1u8);
    let rare = [
        3u64,
        1,
        2,
        u64::MAX,
        rng.random(),
        rng.random_range(4..1 << 20),
    ];
    let count: usize = std::env::var("IXI_GPU_TEST_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut plain = Vec::new();
    for i in 0..count {
        let m = rng.random_range(0..moduli.len());
        let n = &moduli[m];
        let s = match i % 50 {
            0 => BigUint::ZERO,
            1 => BigUint::from(1u8),
            2 => n - 1u8,
            _ => support::random_below(&mut rng, n),
        };
        let e = if rng.random_range(0..10) == 0 {
            rare[rng.random_range(0..rare.len())]
        } else {
            65537
        };
        plain.push((m, s, e));
    }
    for gpu in &gpus {
        let keys: Vec<GpuKey> = moduli
            .iter()
            .map(|n| GpuKey::from_modulus_be(gpu.variant, &n.to_bytes_be()).unwrap())
            .collect();
        // Grouped by (size class, exponent); each group's signatures in slots as wide as its
        // widest key's.
        let mut groups: BTreeMap<(u32, u64), Vec<usize>> = BTreeMap::new();
        for (i, (m, _, e)) in plain.iter().enumerate() {
            groups.entry((keys[*m].threads, *e)).or_default().push(i);
        }
        let (mut items, mut signatures, mut dispatches) = (Vec::new(), Vec::new(), Vec::new());
        let mut slot_of = vec![0usize; plain.len()];
        for ((_, exponent), members) in &groups {
            let words = members
                .iter()
                .map(|&i| keys[plain[i].0].signature_words())
                .max()
                .unwrap();
            let (first, offset) = (items.len() as u32, signatures.len() as u32);
            for &i in members {
                let (m, s, _) = &plain[i];
                let key = &keys[*m];
                slot_of[i] = signatures.len();
                items.push(GpuItem {
                    key: *m as u32,
                    digest: [0; 16],
                });
                let mut signature = vec![0u8; key.bytes as usize];
                let b = s.to_bytes_be();
                if s != &BigUint::ZERO {
                    signature[key.bytes as usize - b.len()..].copy_from_slice(&b);
                }
                let at = signatures.len();
                signatures.resize(at + words, 0);
                key.load_signature(&signature, &mut signatures[at..])
                    .unwrap();
            }
            let count = members.len() as u32;
            let key = &keys[plain[members[0]].0];
            dispatches
                .push(GpuParams::new(key, first, count, *exponent, words as u32, offset).unwrap());
        }
        let started = Instant::now();
        let out = gpu.dispatch(
            Entry::Exponentiate,
            &keys,
            &items,
            &signatures,
            &dispatches,
            signatures.len(),
        );
        let elapsed = started.elapsed();
        for (i, (m, s, e)) in plain.iter().enumerate() {
            let n = &moduli[*m];
            let at = slot_of[i];
            let got = &out[at..at + keys[*m].signature_words()];
            assert_eq!(
                BigUint::from_slice(got),
                s.modpow(&BigUint::from(*e), n),
                "{:?} item {i}: {} bits, e {e}",
                gpu.variant,
                n.bits()
            );
        }
        let count_4096 = plain
            .iter()
            .filter(|(m, _, _)| moduli[*m].bits() == 4096)
            .count();
        eprintln!(
            "gpu_exponentiation {:?}: {} items ({count_4096} of 4096 bits) in {} dispatches equal modpow, batch {elapsed:.2?}",
            gpu.variant,
            plain.len(),
            dispatches.len()
        );
    }
}

/// A key of another size class in a dispatch is reported, not computed with the wrong `R`.
#[test]
fn gpu_reports_a_key_of_another_class() {
    let Some(gpus) = gpus_or_skip("gpu_key_mismatch") else {
        return;
    };
    let mut rng = support::rng("gpu_key_mismatch");
    for gpu in &gpus {
        let small = GpuKey::from_modulus_be(
            gpu.variant,
            &support::random_odd_modulus(&mut rng, 1024).to_bytes_be(),
        )
        .unwrap();
        let large = GpuKey::from_modulus_be(
            gpu.variant,
            &support::random_odd_modulus(&mut rng, 2048).to_bytes_be(),
        )
        .unwrap();
        assert_ne!(small.limbs, large.limbs);
        let item = |key| GpuItem {
            key,
            digest: [0; 16],
        };
        let items = [item(0), item(1), item(7)];
        let words = large.signature_words();
        let signatures = vec![1u32; 3 * words];
        let params = GpuParams::new(&large, 0, 3, 65537, words as u32, 0).unwrap();
        let out = gpu.dispatch(
            Entry::Verify,
            &[small, large],
            &items,
            &signatures,
            &[params],
            3,
        );
        assert_eq!(
            out.iter()
                .map(|&w| Verdict::from_word(w))
                .collect::<Vec<_>>(),
            vec![
                Some(Verdict::KeyMismatch),
                Some(Verdict::Invalid),
                Some(Verdict::KeyMismatch)
            ],
            "{:?}: wrong class, right class (s = 1: not an encoding), key index out of range",
            gpu.variant
        );
    }
}
