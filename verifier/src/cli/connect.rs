//! `ixi-verifier init` and `ixi-verifier connect`.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use ixi_kernels::cpu::CpuFeatures;
use ixi_link_proto::Role;
use ixi_verifier::backend;
use ixi_verifier::connect::{self, VerifierStatus};
use tokio::sync::watch;

use super::{ConnectArgs, InitArgs};

pub(super) fn init(args: &InitArgs) -> anyhow::Result<()> {
    let line = ixi_node_link::cli::init(&args.data_dir, "ixi-verifier", args.json)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    println!("{line}");
    Ok(())
}

pub(super) fn run(args: &ConnectArgs) -> anyhow::Result<()> {
    let (identity, mut options) = args.link.worker(Role::Verifier)?;
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;
    let engine: Arc<dyn backend::VerifyBackend> = backend::create(kind, &features, threads)?.into();
    // A first batch sized for about 20 k verifications per second per thread; the link
    // resizes from the rates measured after each batch.
    options.measured_rate = 20_000.0 * threads as f64;
    eprintln!(
        "verifying for the link at {} on {} x{threads} (Ctrl-C stops)",
        args.link.link,
        engine.name()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        let (status_tx, mut status) = watch::channel(VerifierStatus::default());
        let task = tokio::spawn(connect::run(identity, options, engine, stop, status_tx));
        let on_tty = std::io::stderr().is_terminal();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tick.tick() => {
                    if on_tty {
                        let s = status.borrow_and_update().clone();
                        eprint!(
                            "\r\x1b[K{} verified {} ({} valid) in {} batches, {:.0}/s",
                            if s.connected { "linked" } else { "offline" },
                            s.verified,
                            s.valid,
                            s.batches,
                            s.rate,
                        );
                    }
                }
            }
        }
        if on_tty {
            eprintln!();
        }
        let _ = stop_tx.send(true);
        task.await.context("verifier task")
    })
}
