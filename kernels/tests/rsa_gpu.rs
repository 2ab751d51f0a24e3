//! The WGSL RSA kernel on a real adapter (lavapipe in CI) through wgpu: `exponentiate` equals
//! `BigUint::modpow` and `verify` equals the plain verdict on mixed batches (2048- and 4096-bit
//! keys, odd sizes, several exponents in one batch), for each variant the adapter runs. Without
//! a Vulkan adapter the tests say why they skip, and fail under `REQUIRE_GPU=1`.
//!
//! The harness is test-only and deliberately small: a device per variant with exactly the
//! features that variant needs, both pipelines built once, a batch grouped by (size class,
//! exponent) into one dispatch per group, all in one submission, then one readback.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation
)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ixi_kernels::rsa_wgsl::{
    DEFAULT_WORKGROUP_SIZE, GpuItem, GpuKey, GpuParams, Variant, Verdict, digest_words,
};
use num_bigint::BigUint;
use rand::Rng as _;
use support::Case;

/// Longest a batch may take on lavapipe before the test calls the device stalled.
const WATCHDOG: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Verify,
    Exponentiate,
}

/// One variant on one device: the device has exactly the features the variant needs.
struct Gpu {
    variant: Variant,
    device: wgpu::Device,
    queue: wgpu::Queue,
    verify: wgpu::ComputePipeline,
    exponentiate: wgpu::ComputePipeline,
}

/// One item: a key index, a big-endian signature, a digest, an exponent.
struct Job {
    key: usize,
    signature: Vec<u8>,
    digest: [u8; 64],
    exponent: u64,
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

/// Every variant the first Vulkan adapter runs, or `None` (with the reason printed) when there
/// is none and REQUIRE_GPU is not set.
fn gpus_or_skip(test: &str) -> Option<Vec<Gpu>> {
    let adapters = pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()));
    let Some(adapter) = adapters
        .into_iter()
        .find(|a| a.get_info().backend == wgpu::Backend::Vulkan)
    else {
        let why = "no Vulkan adapter; install mesa-vulkan-drivers for lavapipe";
        if std::env::var("REQUIRE_GPU").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_GPU=1 but {why}");
        }
        eprintln!("{test}: skipped: {why}");
        return None;
    };
    let info = adapter.get_info();
    let int64 = adapter.features().contains(wgpu::Features::SHADER_INT64);
    eprintln!(
        "{test}: on {} ({:?}, {:?}, driver {} {}), SHADER_INT64: {int64}",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    );
    let mut gpus = vec![Gpu::new(&adapter, Variant::U32)];
    if int64 {
        gpus.push(Gpu::new(&adapter, Variant::U64));
    } else {
        eprintln!("{test}: the u64 variant skipped: the adapter lacks SHADER_INT64");
    }
    Some(gpus)
}

fn buffer(
    device: &wgpu::Device,
    label: &str,
    bytes: usize,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        // Storage bindings may not be empty.
        size: (bytes.max(4) as u64).next_multiple_of(4),
        usage: usage | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl Gpu {
    fn new(adapter: &wgpu::Adapter, variant: Variant) -> Self {
        let required_features = if variant.needs_int64() {
            wgpu::Features::SHADER_INT64
        } else {
            wgpu::Features::empty()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("ixi rsa test"),
            required_features,
            required_limits: wgpu::Limits::default(),
            ..Default::default()
        }))
        .unwrap();
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(variant.name()),
            source: wgpu::ShaderSource::Wgsl(variant.source().into()),
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: None,
                module: &module,
                entry_point: Some(entry),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &[("WORKGROUP_SIZE", f64::from(DEFAULT_WORKGROUP_SIZE))],
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            })
        };
        let started = Instant::now();
        let (verify, exponentiate) = (pipeline("verify"), pipeline("exponentiate"));
        if let Some(e) = pollster::block_on(scope.pop()) {
            panic!("{variant:?}: pipeline: {e}");
        }
        eprintln!("{variant:?}: pipelines built in {:.1?}", started.elapsed());
        Self {
            variant,
            device,
            queue,
            verify,
            exponentiate,
        }
    }

    /// Runs `dispatches` over the given buffers' contents in one submission and returns the
    /// output buffer's words.
    fn dispatch(
        &self,
        entry: Entry,
        keys: &[GpuKey],
        items: &[GpuItem],
        signatures: &[u32],
        dispatches: &[GpuParams],
        out_words: usize,
    ) -> Vec<u32> {
        let device = &self.device;
        let storage = wgpu::BufferUsages::STORAGE;
        let upload = |label: &str, bytes: &[u8]| {
            let b = buffer(device, label, bytes.len(), storage);
            if !bytes.is_empty() {
                self.queue.write_buffer(&b, 0, bytes);
            }
            b
        };
        let keys = upload("keys", bytemuck::cast_slice(keys));
        let items = upload("items", bytemuck::cast_slice(items));
        let signatures = upload("signatures", bytemuck::cast_slice(signatures));
        let out_bytes = (out_words * 4).max(4) as u64;
        let out = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("out"),
            size: out_bytes,
            usage: storage | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: out_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let pipeline = match entry {
            Entry::Verify => &self.verify,
            Entry::Exponentiate => &self.exponentiate,
        };
        let layout = pipeline.get_bind_group_layout(0);
        let bind_groups: Vec<wgpu::BindGroup> = dispatches
            .iter()
            .map(|p| {
                let uniform = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("params"),
                    size: size_of::<GpuParams>() as u64,
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                self.queue.write_buffer(&uniform, 0, bytemuck::bytes_of(p));
                let entries: Vec<wgpu::BindGroupEntry> =
                    [&uniform, &keys, &items, &signatures, &out]
                        .iter()
                        .enumerate()
                        .map(|(i, b)| wgpu::BindGroupEntry {
                            binding: i as u32,
                            resource: b.as_entire_binding(),
                        })
                        .collect();
                device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &layout,
                    entries: &entries,
                })
            })
            .collect();
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            for (p, group) in dispatches.iter().zip(&bind_groups) {
                let groups = p
                    .count
                    .div_ceil(p.items_per_workgroup(DEFAULT_WORKGROUP_SIZE));
                let x = groups.min(65_535);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
            }
        }
        encoder.copy_buffer_to_buffer(&out, 0, &readback, 0, None);
        let submission = self.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(submission),
                timeout: Some(WATCHDOG),
            })
            .expect("the device finished within the watchdog");
        rx.recv_timeout(WATCHDOG).unwrap().unwrap();
        let words =
            bytemuck::cast_slice::<u8, u32>(&readback.get_mapped_range(..).unwrap()).to_vec();
        readback.unmap();
        words[..out_words].to_vec()
    }

    /// Packs `jobs` the way a host backend would (grouped by size class and exponent, one
    /// dispatch per group), runs them, and returns each job's output in job order: one verdict
    /// word, or the result words. A signature the host rejects (length, `s >= n`) gets
    /// `Verdict::Invalid` without reaching the GPU.
    fn run(&self, entry: Entry, keys: &[GpuKey], jobs: &[Job]) -> (Vec<Vec<u32>>, Duration) {
        let mut groups: BTreeMap<(u32, u64), Vec<usize>> = BTreeMap::new();
        let mut rejected = vec![false; jobs.len()];
        for (i, job) in jobs.iter().enumerate() {
            let key = &keys[job.key];
            let mut probe = vec![0u32; key.signature_words()];
            if key.load_signature(&job.signature, &mut probe).is_err() {
                rejected[i] = true;
                continue;
            }
            groups
                .entry((key.threads, job.exponent))
                .or_default()
                .push(i);
        }
        let (mut items, mut signatures, mut dispatches) = (Vec::new(), Vec::new(), Vec::new());
        let mut slots = vec![(0usize, 0usize); jobs.len()];
        for ((_, exponent), members) in &groups {
            let words = members
                .iter()
                .map(|&i| keys[jobs[i].key].signature_words())
                .max()
                .unwrap();
            let first = items.len() as u32;
            let offset = signatures.len();
            for &i in members {
                let job = &jobs[i];
                slots[i] = (items.len(), signatures.len());
                items.push(GpuItem {
                    key: job.key as u32,
                    digest: digest_words(&job.digest),
                });
                let at = signatures.len();
                signatures.resize(at + words, 0);
                keys[job.key]
                    .load_signature(&job.signature, &mut signatures[at..])
                    .unwrap();
            }
            let count = members.len() as u32;
            let params = GpuParams::new(
                &keys[jobs[members[0]].key],
                first,
                count,
                *exponent,
                words as u32,
                offset as u32,
            )
            .unwrap();
            dispatches.push(params);
        }
        let out_words = match entry {
            Entry::Verify => items.len(),
            Entry::Exponentiate => signatures.len(),
        };
        let started = Instant::now();
        let words = self.dispatch(entry, keys, &items, &signatures, &dispatches, out_words);
        let elapsed = started.elapsed();
        let outputs = jobs
            .iter()
            .enumerate()
            .map(|(i, job)| {
                if rejected[i] {
                    return vec![Verdict::Invalid.word()];
                }
                let (item, slot) = slots[i];
                match entry {
                    Entry::Verify => vec![words[item]],
                    Entry::Exponentiate => {
                        words[slot..slot + keys[job.key].signature_words()].to_vec()
                    }
                }
            })
            .collect();
        (outputs, elapsed)
    }
}

/// Random moduli of the two sizes that matter and a few odd ones; bases with the edges 0, 1,
/// n - 1; exponents 65537 mostly, and 3, 1, 2, 2^64 - 1, a random 64-bit one, a random small
/// one: all in one batch of 1000 items (`IXI_GPU_TEST_ITEMS` for more).
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
    let items: usize = std::env::var("IXI_GPU_TEST_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut jobs_plain = Vec::new();
    for i in 0..items {
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
        jobs_plain.push((m, s, e));
    }
    for gpu in &gpus {
        let keys: Vec<GpuKey> = moduli
            .iter()
            .map(|n| GpuKey::from_modulus_be(gpu.variant, &n.to_bytes_be()).unwrap())
            .collect();
        let jobs: Vec<Job> = jobs_plain
            .iter()
            .map(|(m, s, e)| {
                let k = keys[*m].bytes as usize;
                let b = s.to_bytes_be();
                let mut signature = vec![0u8; k.saturating_sub(b.len())];
                signature.extend(b);
                if s == &BigUint::ZERO {
                    signature = vec![0u8; k];
                }
                Job {
                    key: *m,
                    signature,
                    digest: [0; 64],
                    exponent: *e,
                }
            })
            .collect();
        let (outputs, elapsed) = gpu.run(Entry::Exponentiate, &keys, &jobs);
        for (i, ((m, s, e), got)) in jobs_plain.iter().zip(&outputs).enumerate() {
            let n = &moduli[*m];
            assert_eq!(
                BigUint::from_slice(got),
                s.modpow(&BigUint::from(*e), n),
                "{:?} item {i}: {} bits, e {e}",
                gpu.variant,
                n.bits()
            );
        }
        let count_4096 = jobs_plain
            .iter()
            .filter(|(m, _, _)| moduli[*m].bits() == 4096)
            .count();
        eprintln!(
            "gpu_exponentiation {:?}: {} items ({count_4096} of 4096 bits) equal modpow, batch {:.2?}",
            gpu.variant,
            jobs.len(),
            elapsed
        );
    }
}

/// Every Wycheproof PKCS#1 v1.5 SHA-512 case (2048, 3072, 4096 bits), the reference vectors,
/// and made-up keys of mixed sizes and exponents with valid and corrupted signatures, in one
/// batch: the GPU verdicts equal the plain path's.
#[test]
fn gpu_verdicts_equal_the_plain_path() {
    let Some(gpus) = gpus_or_skip("gpu_verdicts") else {
        return;
    };
    let mut rng = support::rng("gpu_verdicts");
    let made_up_keys: Vec<(BigUint, BigUint, u64)> = [
        (1024u64, 3u64),
        (2048, 65537),
        (2048, 17),
        (1536, 0xffff_ffff_ffff_fffd),
    ]
    .iter()
    .map(|&(bits, e)| {
        let (n, d) = support::rsa_key(&mut rng, bits, e);
        (n, d, e)
    })
    .collect();
    let mut cases: Vec<Case> = support::wycheproof_cases();
    cases.extend(support::reference_cases());
    cases.extend(support::made_up_cases(&mut rng, &made_up_keys, 200));
    for gpu in &gpus {
        let mut keys: Vec<GpuKey> = Vec::new();
        let mut key_of: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
        let jobs: Vec<Job> = cases
            .iter()
            .map(|c| {
                let be = c.modulus.to_bytes_be();
                let key = *key_of.entry(be.clone()).or_insert_with(|| {
                    keys.push(GpuKey::from_modulus_be(gpu.variant, &be).unwrap());
                    keys.len() - 1
                });
                Job {
                    key,
                    signature: c.signature.clone(),
                    digest: c.digest,
                    exponent: c.exponent,
                }
            })
            .collect();
        let (outputs, elapsed) = gpu.run(Entry::Verify, &keys, &jobs);
        let mut valid = 0;
        for (case, got) in cases.iter().zip(&outputs) {
            let verdict = Verdict::from_word(got[0]);
            assert!(
                matches!(verdict, Some(Verdict::Valid | Verdict::Invalid)),
                "{:?}: {}: word {:#x}",
                gpu.variant,
                case.label,
                got[0]
            );
            assert_eq!(
                verdict == Some(Verdict::Valid),
                case.valid,
                "{:?}: {}",
                gpu.variant,
                case.label
            );
            valid += usize::from(case.valid);
        }
        eprintln!(
            "gpu_verdicts {:?}: {} cases ({valid} valid) equal the plain verdicts, batch {:.2?}",
            gpu.variant,
            cases.len(),
            elapsed
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
        let items = [
            GpuItem {
                key: 0,
                digest: [0; 16],
            },
            GpuItem {
                key: 1,
                digest: [0; 16],
            },
            GpuItem {
                key: 7,
                digest: [0; 16],
            },
        ];
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

/// A sanity figure, never a tuning target: RSA-4096 `s^65537 mod n` per second on this adapter
/// (one batch per variant, after a warm-up batch), beside the scalar and IFMA CPU kernels on one
/// thread in the same run. Asserts only exactness. Run with
/// `cargo test -p ixi-kernels --test rsa_gpu -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement; run explicitly"]
fn throughput_rsa4096() {
    use ixi_kernels::mont::{Modulus, PowBatch, PowKernel, to_limbs};
    let Some(gpus) = gpus_or_skip("throughput_rsa4096") else {
        return;
    };
    let items: usize = std::env::var("IXI_GPU_BENCH_ITEMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    let mut rng = support::rng("throughput_rsa4096");
    let moduli: Vec<BigUint> = (0..16)
        .map(|_| support::random_odd_modulus(&mut rng, 4096))
        .collect();
    let plain: Vec<(usize, BigUint)> = (0..items)
        .map(|i| {
            (
                i % moduli.len(),
                support::random_below(&mut rng, &moduli[i % moduli.len()]),
            )
        })
        .collect();
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    eprintln!("throughput_rsa4096: {items} items, host {cpu_model}");
    // CPU baseline on one thread, 8 items per call (the IFMA kernel's width).
    let prepared: Vec<Modulus> = moduli
        .iter()
        .map(|n| Modulus::from_be_bytes(&n.to_bytes_be()).unwrap())
        .collect();
    let mut kernels = vec![("scalar", PowKernel::Scalar)];
    if let Some(t) = ixi_kernels::cpu::CpuFeatures::detect().ifma() {
        kernels.push(("ifma", PowKernel::Ifma(t)));
    }
    let cpu_items = items.min(512);
    let mut baseline = 0.0;
    for (name, kernel) in kernels {
        let started = Instant::now();
        for chunk in plain[..cpu_items].chunks(8) {
            let moduli: Vec<&Modulus> = chunk.iter().map(|(m, _)| &prepared[*m]).collect();
            let bases: Vec<Vec<u64>> = chunk
                .iter()
                .map(|(m, s)| to_limbs(s, prepared[*m].limbs()))
                .collect();
            let base_refs: Vec<&[u64]> = bases.iter().map(Vec::as_slice).collect();
            let out = kernel.pow(&PowBatch {
                moduli: &moduli,
                bases: &base_refs,
                exponent: 65537,
            });
            assert_eq!(out.len(), chunk.len());
        }
        let rate = cpu_items as f64 / started.elapsed().as_secs_f64();
        if baseline == 0.0 {
            baseline = rate;
        }
        eprintln!(
            "  cpu {name:6} (1 thread): {rate:8.0} /s  ({:.2}x scalar)",
            rate / baseline
        );
    }
    for gpu in &gpus {
        let keys: Vec<GpuKey> = moduli
            .iter()
            .map(|n| GpuKey::from_modulus_be(gpu.variant, &n.to_bytes_be()).unwrap())
            .collect();
        let jobs: Vec<Job> = plain
            .iter()
            .map(|(m, s)| {
                let b = s.to_bytes_be();
                let mut signature = vec![0u8; 512 - b.len()];
                signature.extend(b);
                Job {
                    key: *m,
                    signature,
                    digest: [0; 64],
                    exponent: 65537,
                }
            })
            .collect();
        let _ = gpu.run(Entry::Exponentiate, &keys, &jobs[..jobs.len().min(64)]);
        let (outputs, elapsed) = gpu.run(Entry::Exponentiate, &keys, &jobs);
        for ((m, s), got) in plain.iter().zip(&outputs) {
            assert_eq!(
                BigUint::from_slice(got),
                s.modpow(&BigUint::from(65537u32), &moduli[*m])
            );
        }
        let rate = items as f64 / elapsed.as_secs_f64();
        eprintln!(
            "  gpu {:6} (lavapipe): {rate:8.0} /s  ({:.2}x scalar)",
            gpu.variant.name(),
            rate / baseline
        );
    }
}
