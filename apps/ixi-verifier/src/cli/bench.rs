//! `ixi-verifier bench`: verifications per second of a backend, against the scalar backend
//! and OpenSSL (`openssl speed rsaN`) measured in the same run; for `wgpu`, against the IFMA
//! backend too.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ixi_cli_common::progress::Steps;
use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::BackendKind as _;
use ixi_verifier::backend::{self, BackendKind, VerifyBackend};
use ixi_verifier::{Batch, VerifyingKey};
use serde_json::{Map, Value, json};

use super::BenchArgs;

struct Sample {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

/// The signatures measured, with their provenance (one a line: bits, key, message, signature).
const VECTORS: &str = include_str!("bench_vectors.txt");

/// The embedded signatures of `bits`-bit keys, in their order in [`VECTORS`].
fn samples(bits: usize) -> anyhow::Result<Vec<Sample>> {
    let bits = bits.to_string();
    let mut samples = Vec::new();
    for line in VECTORS.lines().filter(|l| !l.starts_with('#')) {
        let [size, key, message, signature] = line.split(' ').collect::<Vec<_>>()[..] else {
            bail!("embedded benchmark vectors: not four fields: {line:.40}");
        };
        if size != bits {
            continue;
        }
        let message = if message == "-" { "" } else { message };
        samples.push(Sample {
            key: VerifyingKey::from_ixian(&hex::decode(key)?).context("embedded benchmark key")?,
            message: hex::decode(message)?,
            signature: hex::decode(signature)?,
        });
    }
    Ok(samples)
}

/// Verifications per second of `backend` over `duration`, after checking every verdict: all
/// samples valid, and one corrupted copy invalid.
fn measure(
    backend: &dyn VerifyBackend,
    samples: &[Sample],
    batch_size: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let mut corrupted = samples[0].signature.clone();
    corrupted[10] ^= 1;
    let mut check = Batch::new();
    for s in samples {
        check.push(&s.key, &s.message, &s.signature);
    }
    check.push(&samples[0].key, &samples[0].message, &corrupted);
    let verdicts = check.verdicts(backend);
    let (last, valid) = verdicts.split_last().context("empty batch")?;
    if *last || !valid.iter().all(|&v| v) {
        bail!(
            "self-check FAILED on backend {}: verdicts {verdicts:?}",
            backend.name()
        );
    }

    let mut batch = Batch::new();
    for s in samples.iter().cycle().take(batch_size) {
        batch.push(&s.key, &s.message, &s.signature);
    }
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < duration {
        let ok = batch.verdicts(backend);
        if ok.iter().any(|&v| !v) {
            bail!("backend {} rejected a valid signature", backend.name());
        }
        done += ok.len();
    }
    // Counts stay far below 2^53: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let rate = done as f64 / started.elapsed().as_secs_f64();
    Ok(rate)
}

/// OpenSSL's verifications per second for `bits` on `threads` processes (one second).
fn openssl_rate(bits: usize, threads: usize) -> Option<f64> {
    let mut cmd = Command::new("openssl");
    cmd.args(["speed", "-seconds", "1"]);
    if threads > 1 {
        cmd.args(["-multi", &threads.to_string()]);
    }
    cmd.arg(format!("rsa{bits}"));
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = format!("rsa {bits} bits");
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with(&prefix))?;
    line.split_whitespace().last()?.parse().ok()
}

/// The GPU backend behind `--backend wgpu`, for its adapter and its counters.
#[cfg(feature = "gpu")]
type Gpu = Arc<backend::gpu::WgpuBackend>;
/// A build without the `gpu` feature has none.
#[cfg(not(feature = "gpu"))]
type Gpu = std::convert::Infallible;

/// The backend of `kind`, and the GPU backend itself when it is one.
fn open(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
) -> anyhow::Result<(Arc<dyn VerifyBackend>, Option<Gpu>)> {
    #[cfg(feature = "gpu")]
    if kind == BackendKind::Wgpu {
        let gpu = Arc::new(backend::gpu::WgpuBackend::new(
            backend::gpu::WgpuOptions::default(),
            features,
            threads,
        )?);
        return Ok((Arc::clone(&gpu) as Arc<dyn VerifyBackend>, Some(gpu)));
    }
    Ok((backend::create(kind, features, threads)?.into(), None))
}

/// The GPU's counters (faults, items) now.
#[cfg(feature = "gpu")]
fn gpu_stats(gpu: Option<&Gpu>) -> Option<backend::gpu::GpuStats> {
    gpu.map(|g| g.stats())
}

#[cfg(not(feature = "gpu"))]
fn gpu_stats(_gpu: Option<&Gpu>) -> Option<()> {
    None
}

/// The JSON fields of the GPU run: `adapter`, `variant`, `cpuBackend`, `gpuItems`,
/// `cpuItems`, `gpuFaults`; and whether the GPU faulted (its rate would then be partly the
/// CPU's). Nothing for the CPU backends.
#[cfg(feature = "gpu")]
fn gpu_report(
    gpu: Option<&Gpu>,
    before: Option<backend::gpu::GpuStats>,
) -> (Map<String, Value>, bool) {
    let mut out = Map::new();
    let (Some(gpu), Some(before)) = (gpu, before) else {
        return (out, false);
    };
    let after = gpu.stats();
    let info = gpu.info();
    out.insert(
        "adapter".into(),
        json!({
            "name": info.name,
            "backend": info.backend,
            "deviceType": info.device_type,
            "driver": info.driver,
            "software": info.software,
        }),
    );
    out.insert("variant".into(), json!(gpu.variant().name()));
    out.insert("cpuBackend".into(), json!(gpu.cpu_backend()));
    out.insert("gpuItems".into(), json!(after.gpu_items - before.gpu_items));
    out.insert("cpuItems".into(), json!(after.cpu_items - before.cpu_items));
    let faults = after.faults - before.faults;
    out.insert("gpuFaults".into(), json!(faults));
    (out, faults > 0)
}

#[cfg(not(feature = "gpu"))]
fn gpu_report(_gpu: Option<&Gpu>, _before: Option<()>) -> (Map<String, Value>, bool) {
    (Map::new(), false)
}

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;
    let (selected, gpu) = open(kind, &features, threads)?;
    // Above one thread, the same CPU backend on one thread is a measurand too: separate runs
    // on a shared machine swing too much to compare. (The GPU's host threads only feed it.)
    let one_thread = if threads > 1 && kind != BackendKind::Wgpu {
        Some(backend::create(kind, &features, 1)?)
    } else {
        None
    };
    // Beside the GPU, the fastest CPU backend when it is not the scalar one.
    let ifma = if kind == BackendKind::Wgpu && features.ifma().is_some() {
        Some(backend::create(BackendKind::Ifma, &features, threads)?)
    } else {
        None
    };
    let scalar = backend::create(BackendKind::Scalar, &features, threads)?;
    let samples = samples(args.key_bits)?;
    let rounds = args.rounds.max(1);
    let duration = Duration::from_secs_f64(args.seconds / f64::from(rounds));
    let batch = args.batch.max(1);
    let before = gpu_stats(gpu.as_ref());

    let (mut rate, mut scalar_rate, mut openssl): (f64, f64, Option<f64>) = (0.0, 0.0, None);
    let mut one_thread_rate: Option<f64> = None;
    let mut ifma_rate: Option<f64> = None;
    let best = |best: Option<f64>, r: f64| Some(best.map_or(r, |b: f64| b.max(r)));
    // A bar on a terminal: one step per measurand and round.
    let per_round = 1
        + u64::from(one_thread.is_some())
        + u64::from(ifma.is_some())
        + u64::from(kind != BackendKind::Scalar)
        + u64::from(!args.no_openssl);
    let steps = Steps::new(u64::from(rounds) * per_round);
    let step = |round: u32, what: &str| steps.start(&format!("round {round}/{rounds}: {what}"));
    for round in 1..=rounds {
        step(round, kind.name());
        rate = rate.max(measure(selected.as_ref(), &samples, batch, duration)?);
        steps.done();
        if let Some(one) = &one_thread {
            step(round, "one thread");
            one_thread_rate = best(
                one_thread_rate,
                measure(one.as_ref(), &samples, batch, duration)?,
            );
            steps.done();
        }
        if let Some(cpu) = &ifma {
            step(round, "ifma");
            ifma_rate = best(ifma_rate, measure(cpu.as_ref(), &samples, batch, duration)?);
            steps.done();
        }
        if kind != BackendKind::Scalar {
            step(round, "scalar");
            scalar_rate = scalar_rate.max(measure(scalar.as_ref(), &samples, batch, duration)?);
            steps.done();
        }
        if !args.no_openssl {
            step(round, "openssl");
            if let Some(o) = openssl_rate(args.key_bits, threads) {
                openssl = best(openssl, o);
            }
            steps.done();
        }
    }
    steps.finish();
    if kind == BackendKind::Scalar {
        scalar_rate = rate;
    }
    let (gpu_fields, faulted) = gpu_report(gpu.as_ref(), before);
    if faulted {
        bail!(
            "the GPU faulted during the measurement (its batches were verified on the CPU, so the rate is not the GPU's): {}",
            Value::Object(gpu_fields)
        );
    }
    if args.json {
        let mut out = json!({
            "backend": kind.name(),
            "keyBits": args.key_bits,
            "threads": threads,
            "seconds": args.seconds,
            "rounds": rounds,
            "batch": batch,
            "verifiesPerSec": rate,
            "scalarVerifiesPerSec": scalar_rate,
            "ratioVsScalar": rate / scalar_rate,
            "opensslVerifiesPerSec": openssl,
            "ratioVsOpenssl": openssl.map(|o| rate / o),
            "oneThreadVerifiesPerSec": one_thread_rate,
            "ratioVsOneThread": one_thread_rate.map(|o| rate / o),
            "selfCheck": "passed",
        });
        if kind == BackendKind::Wgpu {
            out["ifmaVerifiesPerSec"] = json!(ifma_rate);
            out["ratioVsIfma"] = json!(ifma_rate.map(|o| rate / o));
        }
        if let Value::Object(fields) = &mut out {
            fields.extend(gpu_fields);
        }
        println!("{out}");
    } else {
        println!("RSA-{} verification, {threads} threads", args.key_bits);
        if let (Some(Value::Object(adapter)), Some(variant)) =
            (gpu_fields.get("adapter"), gpu_fields.get("variant"))
        {
            println!(
                "adapter   {} ({} variant, {} items on the GPU)",
                adapter.get("name").and_then(Value::as_str).unwrap_or("?"),
                variant.as_str().unwrap_or("?"),
                gpu_fields.get("gpuItems").unwrap_or(&Value::Null),
            );
        }
        println!("{:<8}  {rate:.0} verifies/s", kind.name());
        if let Some(one) = one_thread_rate {
            println!(
                "1 thread  {one:.0} verifies/s ({threads} threads: {:.2}x)",
                rate / one
            );
        }
        if let Some(cpu) = ifma_rate {
            println!("ifma      {cpu:.0} verifies/s ({:.2}x)", rate / cpu);
        }
        if kind != BackendKind::Scalar {
            println!(
                "scalar    {scalar_rate:.0} verifies/s ({:.2}x)",
                rate / scalar_rate
            );
        }
        match openssl {
            Some(o) => println!("openssl   {o:.0} verifies/s ({:.2}x)", rate / o),
            None => println!("openssl   not measured"),
        }
    }
    Ok(())
}
