//! `ixi-miner mine`.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use base64::Engine as _;
use crossbeam_channel::RecvTimeoutError;
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::varint;
use ixi_miner::backend::CpuFeatures;
use ixi_miner::job::{Job, NonceConfig};
use ixi_miner::scheduler::{MinerEvent, Solution};
use serde_json::json;

use super::MineArgs;
use ixi_miner::rate::{RateMeter, human};

pub(super) fn run(args: &MineArgs) -> anyhow::Result<()> {
    let prefix = hex::decode(args.challenge.trim())
        .with_context(|| format!("--challenge: invalid hex {:?}", args.challenge))?;
    let min: IxiNumber = args
        .min_difficulty
        .parse()
        .with_context(|| format!("--min-difficulty {:?}", args.min_difficulty))?;
    let partition = hex::decode(args.nonce_prefix.trim())
        .with_context(|| format!("--nonce-prefix: invalid hex {:?}", args.nonce_prefix))?;
    let nonce = NonceConfig {
        len: args.nonce_len,
        partition,
    };
    let job = Job::new(1, prefix, min, &nonce).context("invalid job")?;
    // The prefix starts with varint(blockNum): report it so the solution can be submitted.
    let block_num = varint::read_u64(job.prefix()).ok().map(|(n, _)| n);

    let features = CpuFeatures::detect();
    let (miner, kind, threads) = args.engine.start(&features)?;
    let status_on_tty = std::io::stderr().is_terminal();
    if !args.json || status_on_tty {
        eprintln!(
            "mining {}-byte challenge{} at minimum difficulty {} on {kind} x{threads}",
            job.prefix().len(),
            block_num.map_or(String::new(), |n| format!(" of block {n}")),
            job.min_difficulty()
        );
    }
    let started = Instant::now();
    miner.set_job(job);

    let deadline = (args.seconds > 0.0).then(|| started + Duration::from_secs_f64(args.seconds));
    let mut meter = RateMeter::new(Duration::from_secs(60));
    let mut found = 0u64;
    let mut stdout = std::io::stdout().lock();
    let outcome = loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break Ok(());
        }
        match miner.events().recv_timeout(Duration::from_secs(1)) {
            Ok(MinerEvent::Solution(s)) => {
                found += 1;
                clear_status(status_on_tty);
                let line = render(&s, block_num, found, started, miner.attempts(), args.json);
                writeln!(stdout, "{line}").context("writing stdout")?;
                stdout.flush().context("writing stdout")?;
                if args.solutions > 0 && found >= args.solutions {
                    break Ok(());
                }
            }
            Ok(MinerEvent::Fault {
                backend, message, ..
            }) => {
                clear_status(status_on_tty);
                eprintln!("device fault on {backend} (hit discarded, not reported): {message}");
            }
            Ok(MinerEvent::Exhausted { .. }) => {
                break Err(anyhow::anyhow!(
                    "the nonce space of {} bytes is exhausted; use a longer --nonce-len",
                    args.nonce_len
                ));
            }
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break Err(anyhow::anyhow!("miner stopped")),
        }
        let now = Instant::now();
        meter.record(now, miner.attempts());
        if status_on_tty {
            let best = miner
                .best_difficulty()
                .map_or_else(|| "-".to_owned(), |d| d.to_string());
            eprint!(
                "\r\x1b[K{}H/s (10 s)  {}H/s (60 s)  best {best}  solutions {found}",
                human(meter.rate(Duration::from_secs(10))),
                human(meter.rate(Duration::from_secs(60))),
            );
        }
    };
    clear_status(status_on_tty);
    miner.stop();
    outcome?;
    if found == 0 {
        bail!("no solution within {} s", args.seconds);
    }
    Ok(())
}

fn clear_status(on_tty: bool) {
    if on_tty {
        eprint!("\r\x1b[K");
    }
}

fn render(
    s: &Solution,
    block_num: Option<u64>,
    n: u64,
    started: Instant,
    attempts: u64,
    json: bool,
) -> String {
    let bits = format!("{:016x}", difficulty::hash_to_bits(&s.hash));
    if json {
        json!({
            "nonce": hex::encode(&s.nonce),
            "nonceBase64": base64::engine::general_purpose::STANDARD.encode(&s.nonce),
            "hash": hex::encode(s.hash),
            "difficulty": s.difficulty.to_string(),
            "difficultyRaw": s.difficulty.raw().to_string(),
            "bits": bits,
            "backend": s.backend,
            "blockNum": block_num.map(|b| b.to_string()),
            "attempts": attempts,
            "elapsedSeconds": started.elapsed().as_secs_f64(),
        })
        .to_string()
    } else {
        format!(
            "solution {n}: difficulty {} nonce {} hash {} backend {} ({:.1} s)",
            s.difficulty,
            hex::encode(&s.nonce),
            hex::encode(s.hash),
            s.backend,
            started.elapsed().as_secs_f64()
        )
    }
}
