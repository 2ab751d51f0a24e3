//! `ixi-link devnet`: a simulated node, the link, one miner and one verifier in one process,
//! connected over real QUIC on loopback with real pinned-key authentication.

use std::io::{IsTerminal as _, Write as _};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use ixi_cli_common::engine::parse_backend;
use ixi_link_proto::Role;
use ixi_link_server::core::LinkStats;
use ixi_link_server::simulate::SimulatedChain;
use ixi_link_server::{LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity};
use ixi_link_worker::client::WorkerOptions;
use ixi_miner::backend::{BackendChoice as MinerChoice, BackendKind as MinerKind, CpuFeatures};
use ixi_miner::scheduler::{Miner, MinerConfig};
use ixi_verifier::backend::{
    self as verifier_backend, BackendChoice as VerifierChoice, BackendKind as VerifierKind,
};
use serde_json::json;
use tokio::sync::watch;

use crate::serve::{SimArgs, status_line};

#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Stop after this many seconds (0: run until Ctrl-C).
    #[arg(long, default_value_t = 0.0)]
    seconds: f64,
    /// Write the summary as JSON to this file on exit.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
    /// The miner's backend.
    #[arg(long, env = "IXI_MINER_BACKEND", default_value = "auto", value_parser = parse_backend::<MinerKind>)]
    miner_backend: MinerChoice,
    /// The miner's threads (default: all cores but one).
    #[arg(long)]
    miner_threads: Option<NonZeroUsize>,
    /// The verifier's backend.
    #[arg(long, env = "IXI_VERIFIER_BACKEND", default_value = "auto", value_parser = parse_backend::<VerifierKind>)]
    verifier_backend: VerifierChoice,
    /// The verifier's threads.
    #[arg(long, default_value = "1")]
    verifier_threads: NonZeroUsize,
}

pub(crate) fn run(args: &DevnetArgs) -> anyhow::Result<()> {
    if !(args.seconds.is_finite() && args.seconds >= 0.0) {
        anyhow::bail!(
            "--seconds must be a non-negative number, got {}",
            args.seconds
        );
    }
    let sim = args.sim.config()?;
    let features = CpuFeatures::detect();
    let miner_kind = args
        .miner_backend
        .resolve(&features)
        .context("--miner-backend")?;
    let verifier_kind = (args.verifier_backend)
        .resolve(&features)
        .context("--verifier-backend")?;
    let miner_threads = args.miner_threads.map_or_else(
        || {
            std::thread::available_parallelism()
                .map_or(1, NonZeroUsize::get)
                .saturating_sub(1)
                .max(1)
        },
        NonZeroUsize::get,
    );
    let verifier_threads = args.verifier_threads.get();
    let miner = Miner::start(
        MinerConfig {
            backend: miner_kind,
            threads: miner_threads,
            batch: None,
        },
        &features,
    )?;
    let verify_engine: Arc<dyn verifier_backend::VerifyBackend> =
        verifier_backend::create(verifier_kind, &features, verifier_threads)?.into();

    // Real identities, real authorization: the link serves exactly these two pins.
    let link_id = Identity::generate("ixi-link")?;
    let miner_id = Identity::generate("devnet-miner")?;
    let verifier_id = Identity::generate("devnet-verifier")?;
    let authorized = Arc::new(RwLock::new(AuthorizedPins::from_pins([
        miner_id.pin(),
        verifier_id.pin(),
    ])));

    super::runtime()?.block_on(async {
        let chain = Arc::new(SimulatedChain::new(sim));
        let config = ServerConfig::new(([127, 0, 0, 1], 0).into());
        let server = LinkServer::start(&link_id, authorized, Arc::clone(&chain), config)
            .await
            .context("starting the link")?;
        let addr = server.local_addr()?.to_string();
        eprintln!(
            "devnet: link on {addr}, miner {miner_kind} x{miner_threads}, verifier {verifier_kind} x{verifier_threads}, a block every {} s{}",
            args.sim.block_seconds,
            if args.seconds > 0.0 { format!(", for {} s", args.seconds) } else { ", Ctrl-C stops".to_owned() }
        );
        let (stop_tx, stop) = watch::channel(false);
        let (miner_status_tx, _miner_status) = watch::channel(Default::default());
        let (verifier_status_tx, _verifier_status) = watch::channel(Default::default());
        let options = |role, name: &str| WorkerOptions::new(addr.clone(), link_id.pin(), role, name.to_owned());
        let mut verifier_options = options(Role::Verifier, "devnet-verifier");
        verifier_options.measured_rate = 20_000.0;
        let miner_task = tokio::spawn(ixi_link_worker::miner::run(
            miner_id,
            options(Role::Miner, "devnet-miner"),
            miner,
            ixi_miner::job::DEFAULT_NONCE_LEN,
            stop.clone(),
            miner_status_tx,
        ));
        let verifier_task = tokio::spawn(ixi_link_worker::verifier::run(
            verifier_id,
            verifier_options,
            verify_engine,
            stop,
            verifier_status_tx,
        ));

        let started = Instant::now();
        let deadline = (args.seconds > 0.0).then(|| started + Duration::from_secs_f64(args.seconds));
        let on_tty = std::io::stderr().is_terminal();
        let mut stats = server.stats();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last_verified = (Instant::now(), 0u64);
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tick.tick() => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break;
                    }
                    if on_tty {
                        let s = stats.borrow_and_update().clone();
                        let now = Instant::now();
                        let per_second = (s.signatures_verified - last_verified.1) as f64
                            / now.duration_since(last_verified.0).as_secs_f64().max(1e-3);
                        last_verified = (now, s.signatures_verified);
                        eprint!(
                            "\r\x1b[Kblocks {}  {}  sigs/s {per_second:.0}",
                            chain.summary().blocks,
                            status_line(&s),
                        );
                    }
                }
            }
        }
        if on_tty {
            eprintln!();
        }
        let _ = stop_tx.send(true);
        let _ = miner_task.await;
        let _ = verifier_task.await;
        let final_stats = server.stats().borrow().clone();
        server.shutdown().await;
        report(&final_stats, chain.summary().blocks, started.elapsed(), args)
    })
}

fn report(s: &LinkStats, blocks: u64, elapsed: Duration, args: &DevnetArgs) -> anyhow::Result<()> {
    let summary = json!({
        "blocks": blocks,
        "solutionsAccepted": s.solutions_accepted,
        "solutionsRejected": s.solutions_rejected,
        "bestDifficulty": s.best_difficulty.as_ref().map(ToString::to_string),
        "signaturesVerified": s.signatures_verified,
        "verdictMismatches": s.verdict_mismatches,
        "batchesRedispatched": s.batches_redispatched,
        "signaturesRefused": s.signatures_refused,
        "seconds": elapsed.as_secs_f64(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "devnet summary after {:.1} s: {blocks} blocks, {} solutions accepted, {} rejected, best difficulty {}, {} signatures verified, {} verdict mismatches",
        elapsed.as_secs_f64(),
        s.solutions_accepted,
        s.solutions_rejected,
        s.best_difficulty
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
        s.signatures_verified,
        s.verdict_mismatches,
    )?;
    if let Some(path) = &args.summary_json {
        std::fs::write(path, format!("{summary:#}\n"))
            .with_context(|| format!("--summary-json {}", path.display()))?;
    }
    if s.verdict_mismatches > 0 {
        anyhow::bail!(
            "{} verifier verdicts differ from the known truth",
            s.verdict_mismatches
        );
    }
    Ok(())
}
