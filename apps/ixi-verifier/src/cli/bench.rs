//! `ixi-verifier bench`: verifications per second of a backend, against the scalar backend
//! and OpenSSL (`openssl speed rsaN`) measured in the same run.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::BackendKind as _;
use ixi_verifier::backend::{self, BackendKind, VerifyBackend};
use ixi_verifier::{Batch, VerifyingKey};
use serde_json::json;

use super::BenchArgs;
use super::bench_data::{RSA_2048, RSA_4096};

/// Items per measured batch: the largest batch ixi-link hands a verifier (its default
/// `max_batch`) and `verify`'s default `--batch`. Smaller batches pay a fixed cost per batch
/// (waking the pool's threads, the last vector of eight finishing alone) that shows at two
/// threads: about 3% at 512 items.
const BATCH: usize = 4096;

struct Sample {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Vec<u8>,
}

fn samples(bits: usize) -> anyhow::Result<Vec<Sample>> {
    let table: &[(&str, &str, &str)] = if bits == 2048 { &RSA_2048 } else { &RSA_4096 };
    table
        .iter()
        .map(|(key, message, signature)| {
            Ok(Sample {
                key: VerifyingKey::from_ixian(&hex::decode(key)?)
                    .context("embedded benchmark key")?,
                message: hex::decode(message)?,
                signature: hex::decode(signature)?,
            })
        })
        .collect()
}

/// Verifications per second of `backend` over `duration`, after checking every verdict: all
/// samples valid, and one corrupted copy invalid.
fn measure(
    backend: &dyn VerifyBackend,
    samples: &[Sample],
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
    for s in samples.iter().cycle().take(BATCH) {
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

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;
    let selected = backend::create(kind, &features, threads)?;
    // Above one thread, the same backend on one thread is a measurand too: separate runs on a
    // shared machine swing too much to compare.
    let one_thread = if threads > 1 {
        Some(backend::create(kind, &features, 1)?)
    } else {
        None
    };
    let scalar = backend::create(BackendKind::Scalar, &features, threads)?;
    let samples = samples(args.key_bits)?;
    let rounds = args.rounds.max(1);
    let duration = Duration::from_secs_f64(args.seconds / f64::from(rounds));

    let (mut rate, mut scalar_rate, mut openssl): (f64, f64, Option<f64>) = (0.0, 0.0, None);
    let mut one_thread_rate: Option<f64> = None;
    for _ in 0..rounds {
        rate = rate.max(measure(selected.as_ref(), &samples, duration)?);
        if let Some(one) = &one_thread {
            let r = measure(one.as_ref(), &samples, duration)?;
            one_thread_rate = Some(one_thread_rate.map_or(r, |best| best.max(r)));
        }
        if kind != BackendKind::Scalar {
            scalar_rate = scalar_rate.max(measure(scalar.as_ref(), &samples, duration)?);
        }
        if !args.no_openssl
            && let Some(o) = openssl_rate(args.key_bits, threads)
        {
            openssl = Some(openssl.map_or(o, |best| best.max(o)));
        }
    }
    if kind == BackendKind::Scalar {
        scalar_rate = rate;
    }
    if args.json {
        let out = json!({
            "backend": kind.name(),
            "keyBits": args.key_bits,
            "threads": threads,
            "seconds": args.seconds,
            "rounds": rounds,
            "verifiesPerSec": rate,
            "scalarVerifiesPerSec": scalar_rate,
            "ratioVsScalar": rate / scalar_rate,
            "opensslVerifiesPerSec": openssl,
            "ratioVsOpenssl": openssl.map(|o| rate / o),
            "oneThreadVerifiesPerSec": one_thread_rate,
            "ratioVsOneThread": one_thread_rate.map(|o| rate / o),
            "selfCheck": "passed",
        });
        println!("{out}");
    } else {
        println!("RSA-{} verification, {threads} threads", args.key_bits);
        println!("{:<8}  {rate:.0} verifies/s", kind.name());
        if let Some(one) = one_thread_rate {
            println!(
                "1 thread  {one:.0} verifies/s ({threads} threads: {:.2}x)",
                rate / one
            );
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
