//! `ixi-link devnet`: a simulated node (serving the real API over HTTP on loopback), the link
//! (reaching it through the same gateway as a real node, and shadow-verifying its blocks), one
//! miner and one verifier, connected over real QUIC on loopback with real pinned-key
//! authentication. The link's findings are compared with the simulated node's ledger of what
//! it made wrong: a finding on a clean item, or a corrupted item not found, is a mismatch.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal as _, Write as _};
use std::num::NonZeroUsize;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use ixi_cli_common::engine::{parse_backend, parse_seconds, parse_threads};
use ixi_cli_common::service::each_second_until_stopped;
use ixi_link_proto::Role;
use ixi_link_server::core::LinkStats;
use ixi_link_server::shadow::ShadowReport;
use ixi_link_server::{LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity};
use ixi_link_worker::client::WorkerOptions;
use ixi_miner::backend::{BackendChoice as MinerChoice, BackendKind as MinerKind, CpuFeatures};
use ixi_miner::scheduler::{Miner, MinerConfig};
use ixi_node_api::{ClientConfig, NodeClient};
use ixi_observe::link::LinkObserver;
use ixi_observe::worker::{Metrics, MinerObserver, VerifierObserver};
use ixi_simnode::{Corruption, SimNode};
use ixi_verifier::backend::{
    self as verifier_backend, BackendChoice as VerifierChoice, BackendKind as VerifierKind,
};
use serde_json::json;
use tokio::sync::watch;

use crate::serve::{
    ShadowArgs, SimArgs, gateway, shadow_poll_interval, sim_poll_interval, status_line,
};

#[derive(Debug, Args)]
pub(crate) struct DevnetArgs {
    /// Stop after this many seconds (0: run until Ctrl-C).
    #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
    seconds: f64,
    /// Write the summary as JSON to this file on exit.
    #[arg(long)]
    summary_json: Option<PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
    #[command(flatten)]
    shadow: ShadowArgs,
    /// The miner's backend.
    #[arg(long, env = "IXI_MINER_BACKEND", default_value = "auto", value_parser = parse_backend::<MinerKind>)]
    miner_backend: MinerChoice,
    /// The miner's threads (default: all cores but one).
    #[arg(long, value_parser = parse_threads)]
    miner_threads: Option<NonZeroUsize>,
    /// The verifier's backend.
    #[arg(long, env = "IXI_VERIFIER_BACKEND", default_value = "auto", value_parser = parse_backend::<VerifierKind>)]
    verifier_backend: VerifierChoice,
    /// The verifier's threads.
    #[arg(long, default_value = "1", value_parser = parse_threads)]
    verifier_threads: NonZeroUsize,
    /// The read-only HTTP endpoint (the link's metrics, status and dashboard with the miner's
    /// and verifier's): an address, or off.
    #[arg(long, default_value = "off", value_parser = ixi_observe::parse_http_listen)]
    http_listen: ixi_observe::HttpListen,
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
        let node = SimNode::start(sim, ([127, 0, 0, 1], 0).into()).await?;
        eprintln!("devnet: preparing the simulated chain (signer keys and PoW solutions at difficulty 10^7)");
        node.wait_ready(Duration::from_secs(90)).await;
        let block_seconds = args.sim.block_seconds;
        let gateway = gateway(&node.url(), None, sim_poll_interval(block_seconds))?;
        let mut extras = args.shadow.extras(&node.url(), None, shadow_poll_interval(block_seconds))?;
        if let Some(shadow) = &mut extras.shadow {
            // The devnet's findings are its own deliberate corruptions: counted in the
            // status line and the summary, not logged one by one.
            shadow.warn_findings = false;
        }
        let mut config = ServerConfig::new(([127, 0, 0, 1], 0).into());
        config.dispatch.local = args.shadow.local();
        let server = LinkServer::start_with(&link_id, authorized, Arc::new(gateway), config, extras)
            .await
            .context("starting the link")?;
        let addr = server.local_addr()?.to_string();
        eprintln!(
            "devnet: node API on {}, link on {addr}, miner {miner_kind} x{miner_threads}, verifier {verifier_kind} x{verifier_threads}, a block every {} s{}",
            node.url(),
            args.sim.block_seconds,
            if args.seconds > 0.0 { format!(", for {} s", args.seconds) } else { ", Ctrl-C stops".to_owned() }
        );
        let (stop_tx, stop) = watch::channel(false);
        let (miner_status_tx, miner_status) = watch::channel(Default::default());
        let (verifier_status_tx, verifier_status) = watch::channel(Default::default());
        let http = ixi_observe::http::start(args.http_listen.0, || {
            let link = LinkObserver::start(server.stats(), server.shadow());
            if let Ok(client) = NodeClient::new(&ClientConfig::new(&node.url())) {
                link.read_totals(client);
            }
            let miner = MinerObserver::start(miner_status);
            let verifier = VerifierObserver::start(verifier_status);
            let (m, v) = (Arc::clone(&miner), Arc::clone(&verifier));
            ixi_observe::link::endpoint(&link, move |status| {
                status["miner"] = m.status_json();
                status["verifier"] = v.status_json();
            })
            .collector(Metrics(miner))
            .collector(Metrics(verifier))
        });
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
        let mut last_verified = (Instant::now(), 0u64);
        each_second_until_stopped(|| {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return ControlFlow::Break(());
            }
            if on_tty {
                let s = stats.borrow_and_update().clone();
                let now = Instant::now();
                let per_second = (s.signatures_verified - last_verified.1) as f64
                    / now.duration_since(last_verified.0).as_secs_f64().max(1e-3);
                last_verified = (now, s.signatures_verified);
                eprint!(
                    "\r\x1b[Kblocks {}  {}  sigs/s {per_second:.0}",
                    node.chain().live_blocks(),
                    status_line(&s),
                );
            }
            ControlFlow::Continue(())
        })
        .await;
        if on_tty {
            eprintln!();
        }
        let _ = stop_tx.send(true);
        let _ = miner_task.await;
        let _ = verifier_task.await;
        let final_stats = server.stats().borrow().clone();
        let shadow = server.shadow().map(|s| s.report()).unwrap_or_default();
        let ledger = node.chain().ledger();
        server.shutdown().await;
        if let Some(http) = http {
            http.stop().await;
        }
        node.stop();
        let outcome = Outcome {
            blocks: node.chain().live_blocks(),
            mismatches: mismatches(&shadow, &ledger),
            findings: shadow.findings.len() as u64,
            audited: shadow.audited.len() as u64,
            corrupted: shadow
                .audited
                .iter()
                .map(|b| ledger.get(b).map_or(0, Vec::len) as u64)
                .sum(),
        };
        report(&final_stats, &outcome, started.elapsed(), args)
    })
}

/// What the devnet's shadow verification came to.
struct Outcome {
    blocks: u64,
    findings: u64,
    audited: u64,
    corrupted: u64,
    mismatches: u64,
}

/// Findings against the simulated node's ledger, over the blocks fully checked: a finding on a
/// clean item, or a corrupted item without its finding, is one mismatch each.
fn mismatches(shadow: &ShadowReport, ledger: &BTreeMap<u64, Vec<Corruption>>) -> u64 {
    let found: BTreeSet<(u64, &str, Option<usize>)> = shadow
        .findings
        .iter()
        .filter(|f| shadow.audited.contains(&f.block))
        .map(|f| (f.block, f.kind.as_str(), f.index))
        .collect();
    let truth: BTreeSet<(u64, &str, Option<usize>)> = ledger
        .iter()
        .filter(|(b, _)| shadow.audited.contains(b))
        .flat_map(|(b, c)| c.iter().map(move |c| (*b, c.kind, c.index)))
        .collect();
    found.symmetric_difference(&truth).count() as u64
}

fn report(s: &LinkStats, o: &Outcome, elapsed: Duration, args: &DevnetArgs) -> anyhow::Result<()> {
    let blocks = o.blocks;
    let summary = json!({
        "blocks": blocks,
        "solutionsAccepted": s.solutions_accepted,
        "solutionsRejected": s.solutions_rejected,
        "bestDifficulty": s.best_difficulty.as_ref().map(ToString::to_string),
        "signaturesVerified": s.signatures_verified,
        "verdictMismatches": o.mismatches,
        "findings": o.findings,
        "blocksAudited": o.audited,
        "corruptedItemsAudited": o.corrupted,
        "signaturesVerifiedLocally": s.signatures_verified_locally,
        "batchesRedispatched": s.batches_redispatched,
        "signaturesRefused": s.signatures_refused,
        "seconds": elapsed.as_secs_f64(),
    });
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "devnet summary after {:.1} s: {blocks} blocks, {} solutions accepted, {} rejected, best difficulty {}, {} signatures verified, {} blocks audited, {} findings ({} corrupted items in them), {} verdict mismatches",
        elapsed.as_secs_f64(),
        s.solutions_accepted,
        s.solutions_rejected,
        s.best_difficulty
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
        s.signatures_verified,
        o.audited,
        o.findings,
        o.corrupted,
        o.mismatches,
    )?;
    if let Some(path) = &args.summary_json {
        std::fs::write(path, format!("{summary:#}\n"))
            .with_context(|| format!("--summary-json {}", path.display()))?;
    }
    if o.mismatches > 0 {
        anyhow::bail!(
            "{} findings differ from the simulated node's ledger",
            o.mismatches
        );
    }
    Ok(())
}
