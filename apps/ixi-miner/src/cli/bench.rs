//! `ixi-miner bench`: the mining code path on a synthetic job, against a plain loop of the
//! `sha3` crate's double SHA3-512 without midstate, both measured in this run.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ixi_cli_common::progress::{Steps, TuneBars};
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::PreparedJob;
use ixi_kernels::select::BackendKind as _;
use ixi_miner::autotune::CpuModel;
use ixi_miner::backend::{self, BackendChoice, BackendKind, CpuFeatures};
use ixi_miner::job::{Job, NonceConfig};
use ixi_miner::scheduler::{Miner, MinerConfig};
use ixi_miner::selfcheck;
use rand::RngCore as _;
use serde_json::json;
use sha3::{Digest as _, Sha3_512};

use super::BenchArgs;
use ixi_miner::rate::human;

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let (selected, threads) = args.engine.resolve(&features)?;
    // `auto` measures every backend this machine runs and reports the fastest kind on top;
    // a forced backend is measured alone.
    let kinds = match args.engine.backend {
        BackendChoice::Auto => backend::available(&features),
        // The GPU beside the scalar CPU backend, measured in the same run.
        BackendChoice::Forced(BackendKind::Wgpu) => vec![BackendKind::Wgpu, BackendKind::Soft],
        BackendChoice::Forced(kind) => vec![kind],
    };
    let mut bars = TuneBars::default();
    // The kernel variant of each kind (a GPU's shader variant: its first adapter's).
    let mut variants: Vec<(BackendKind, &'static str)> = Vec::new();
    for &kind in &kinds {
        let mut on_tune = |p: backend::TuneProgress| {
            bars.step(&p.adapter, u64::from(p.done), u64::from(p.total));
        };
        for mut checked in backend::create_observed(kind, &features, 1, &mut on_tune)? {
            let compared = selfcheck::run(checked.as_mut())?;
            if !args.json {
                eprintln!("self-check passed on {kind}: {compared} hashes match the reference");
            }
            if !variants.iter().any(|&(k, _)| k == kind) {
                variants.push((kind, checked.variant()));
            }
        }
    }
    let variant_of =
        |kind: BackendKind| variants.iter().find(|&&(k, _)| k == kind).map(|&(_, v)| v);
    let cpu = CpuModel::detect();

    let mut prefix = vec![0u8; args.prefix_len];
    rand::rng().fill_bytes(&mut prefix);
    // Every measurand runs once per round, interleaved, and keeps its best round: a noisy
    // neighbour slows single rounds, and this treats the baseline and the backends alike.
    let rounds = args.rounds.max(1);
    let duration = Duration::from_secs_f64(args.seconds / f64::from(rounds));
    let mut baseline: f64 = 0.0;
    let mut openssl: Option<f64> = None;
    let mut results: Vec<(BackendKind, f64, u32)> = kinds.iter().map(|&k| (k, 0.0, 0)).collect();
    // A bar on a terminal: one step per measurand and round.
    let per_round = 1 + u64::from(!args.no_openssl) + kinds.len() as u64;
    let steps = Steps::new(u64::from(rounds) * per_round);
    for round in 1..=rounds {
        steps.start(&format!("round {round}/{rounds}: baseline"));
        baseline = baseline.max(baseline_rate(&prefix, args.nonce_len, threads, duration));
        steps.done();
        if !args.no_openssl {
            steps.start(&format!("round {round}/{rounds}: openssl"));
            if let Some(o) = openssl_rate(threads) {
                openssl = Some(openssl.map_or(o, |best| best.max(o)));
            }
            steps.done();
        }
        for entry in &mut results {
            steps.start(&format!("round {round}/{rounds}: {}", entry.0));
            let (rate, permutations) =
                measure(entry.0, &features, threads, &prefix, args, duration)?;
            entry.1 = entry.1.max(rate);
            entry.2 = permutations;
            steps.done();
        }
    }
    steps.finish();
    let entry = |kind: BackendKind, rate: f64, permutations: u32| {
        json!({
            "backend": kind.name(),
            "variant": variant_of(kind),
            "attemptsPerSec": rate,
            "ratio": rate / baseline,
            "ratioVsOpenssl": openssl.map(|o| rate / o),
            "permutationsPerAttempt": permutations,
        })
    };
    let &(_, rate, permutations) = results
        .iter()
        .find(|(k, _, _)| *k == selected)
        .context("selected backend was not measured")?;
    if args.json {
        let mut out = entry(selected, rate, permutations);
        out["cpu"] = cpu.json();
        out["threads"] = json!(threads);
        out["seconds"] = json!(args.seconds);
        out["rounds"] = json!(rounds);
        out["baselineAttemptsPerSec"] = json!(baseline);
        out["baselineThreads"] = json!(threads);
        out["opensslAttemptsPerSec"] = json!(openssl);
        out["prefixLen"] = json!(args.prefix_len);
        out["nonceLen"] = json!(args.nonce_len);
        out["selfCheck"] = json!("passed");
        out["backends"] = results.iter().map(|&(k, r, p)| entry(k, r, p)).collect();
        println!("{out}");
    } else {
        println!(
            "cpu       {} ({}, family {} model {})",
            cpu.model_name, cpu.vendor, cpu.family, cpu.model
        );
        println!("threads   {threads}");
        println!(
            "baseline  {}H/s (sha3 crate, double SHA3-512, no midstate)",
            human(baseline)
        );
        match openssl {
            Some(o) => println!(
                "openssl   {}H/s (openssl speed -evp sha3-512, 200 + 64 bytes)",
                human(o)
            ),
            None => println!("openssl   not measured (no openssl command)"),
        }
        for &(kind, rate, permutations) in &results {
            let vs_openssl =
                openssl.map_or(String::new(), |o| format!(", {:.2}x openssl", rate / o));
            let mark = if kind == selected { " (auto)" } else { "" };
            println!(
                "{:<10}  {}H/s, {:.2}x baseline{vs_openssl}, {permutations} permutations per attempt, kernel {}{mark}",
                kind.name(),
                human(rate),
                rate / baseline,
                variant_of(kind).unwrap_or("?"),
            );
        }
    }
    Ok(())
}

/// Attempts per second of the mining code path (scheduler and all) on a synthetic job.
fn measure(
    kind: BackendKind,
    features: &CpuFeatures,
    threads: usize,
    prefix: &[u8],
    args: &BenchArgs,
    duration: Duration,
) -> anyhow::Result<(f64, u32)> {
    // Difficulty M*10^8 has acceptance bound 1: no hash is expected to meet it, so the run
    // measures the search alone.
    let unreachable_min = IxiNumber::from_raw(difficulty::max_target() * 100_000_000u32);
    let nonce = NonceConfig {
        len: args.nonce_len,
        partition: Vec::new(),
    };
    let job = Job::new(0, prefix.to_vec(), unreachable_min, &nonce).context("bench job")?;
    let permutations = PreparedJob::new(job.prefix(), job.layout()).permutations_per_attempt();
    let miner = Miner::start(
        MinerConfig {
            backend: kind,
            threads,
            batch: None,
        },
        features,
    )?;
    let before = miner.attempts();
    let started = Instant::now();
    miner.set_job(job);
    std::thread::sleep(duration);
    let attempts = miner.attempts() - before;
    let elapsed = started.elapsed().as_secs_f64();
    miner.stop();
    // Attempt counts stay far below 2^53: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let rate = attempts as f64 / elapsed;
    Ok((rate, permutations))
}

/// The anchor the performance goals are stated against: OpenSSL's SHA3-512 over a 200-byte
/// and a 64-byte message, combined as one attempt, `1 / (1/r200 + 1/r64)`, on `threads`
/// processes, one second each. `None` if the `openssl` command is missing or its output is
/// unexpected.
fn openssl_rate(threads: usize) -> Option<f64> {
    let secs = "1";
    let hashes_per_sec = |bytes: u32| -> Option<f64> {
        let mut cmd = Command::new("openssl");
        cmd.args(["speed", "-seconds", secs, "-evp", "sha3-512", "-bytes"])
            .arg(bytes.to_string());
        if threads > 1 {
            cmd.args(["-multi", &threads.to_string()]);
        }
        let out = cmd.stderr(Stdio::null()).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().rev().find(|l| l.starts_with("sha3-512"))?;
        let kbytes: f64 = line
            .split_whitespace()
            .last()?
            .strip_suffix('k')?
            .parse()
            .ok()?;
        Some(kbytes * 1000.0 / f64::from(bytes))
    };
    let r200 = hashes_per_sec(200)?;
    let r64 = hashes_per_sec(64)?;
    Some(1.0 / (1.0 / r200 + 1.0 / r64))
}

/// Attempts per second of `threads` plain loops: SHA3-512(SHA3-512(prefix ‖ nonce)).
fn baseline_rate(prefix: &[u8], nonce_len: usize, threads: usize, duration: Duration) -> f64 {
    let stop = AtomicBool::new(false);
    let total = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, total) = (&stop, &total);
            s.spawn(move || {
                let mut message = prefix.to_vec();
                message.resize(prefix.len() + nonce_len, 0);
                let mut counter = (t as u64) << 56;
                let mut done = 0u64;
                let mut sink = 0u8;
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..256 {
                        counter += 1;
                        let n = message.len();
                        let tail = n - nonce_len.min(8);
                        message[tail..].copy_from_slice(&counter.to_be_bytes()[8 - (n - tail)..]);
                        let inner = Sha3_512::digest(&message);
                        sink ^= Sha3_512::digest(inner)[63];
                    }
                    done += 256;
                }
                std::hint::black_box(sink);
                total.fetch_add(done, Ordering::Relaxed);
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    // Attempt counts stay far below 2^53: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let rate = total.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    rate
}
