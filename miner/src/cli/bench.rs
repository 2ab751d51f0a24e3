//! `ixi-miner bench`: the mining code path on a synthetic job, against a plain loop of the
//! `sha3` crate's double SHA3-512 without midstate, both measured in this run.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::PreparedJob;
use ixi_miner::backend::{self, CpuFeatures};
use ixi_miner::job::{Job, NonceConfig};
use ixi_miner::scheduler::{Miner, MinerConfig};
use ixi_miner::selfcheck;
use rand::RngCore as _;
use serde_json::json;
use sha3::{Digest as _, Sha3_512};

use super::BenchArgs;
use super::rate::human;

pub(super) fn run(args: &BenchArgs) -> anyhow::Result<()> {
    if !(args.seconds > 0.0 && args.seconds.is_finite()) {
        bail!("--seconds must be a positive number, got {}", args.seconds);
    }
    if args.prefix_len == 0 {
        bail!("--prefix-len must be at least 1");
    }
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;

    let mut checked = backend::create(kind, &features)?;
    let compared = selfcheck::run(checked.as_mut())?;
    if !args.json {
        eprintln!("self-check passed on {kind}: {compared} hashes match the reference");
    }

    let mut prefix = vec![0u8; args.prefix_len];
    rand::rng().fill_bytes(&mut prefix);
    // Difficulty M*10^8 has acceptance bound 1: no hash is expected to meet it, so the run
    // measures the search alone.
    let unreachable_min = IxiNumber::from_raw(difficulty::max_target() * 100_000_000u32);
    let nonce = NonceConfig {
        len: args.nonce_len,
        partition: Vec::new(),
    };
    let job = Job::new(0, prefix.clone(), unreachable_min, &nonce).context("bench job")?;
    let permutations = PreparedJob::new(job.prefix(), job.layout()).permutations_per_attempt();
    let duration = Duration::from_secs_f64(args.seconds);

    let miner = Miner::start(
        MinerConfig {
            backend: kind,
            threads,
            batch: None,
        },
        &features,
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

    let baseline = baseline_rate(&prefix, args.nonce_len, threads, duration);
    let ratio = rate / baseline;
    if args.json {
        let out = json!({
            "backend": kind.name(),
            "threads": threads,
            "seconds": elapsed,
            "attemptsPerSec": rate,
            "baselineAttemptsPerSec": baseline,
            "baselineThreads": threads,
            "ratio": ratio,
            "permutationsPerAttempt": permutations,
            "prefixLen": args.prefix_len,
            "nonceLen": args.nonce_len,
            "selfCheck": "passed",
        });
        println!("{out}");
    } else {
        println!("backend   {kind} x{threads}");
        println!(
            "search    {}H/s ({permutations} permutations per attempt)",
            human(rate)
        );
        println!(
            "baseline  {}H/s (sha3 crate, double SHA3-512, no midstate)",
            human(baseline)
        );
        println!("ratio     {ratio:.2}x");
    }
    Ok(())
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
