//! `ixi-miner init` and `ixi-miner connect`.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Context as _;
use ixi_link_proto::Role;
use ixi_miner::backend::CpuFeatures;
use ixi_miner::connect::{self, MinerStatus};
use ixi_miner::rate::human;
use ixi_miner::scheduler::{Miner, MinerConfig};
use tokio::sync::watch;

use super::{ConnectArgs, InitArgs};

pub(super) fn init(args: &InitArgs) -> anyhow::Result<()> {
    let line = ixi_node_link::cli::init(&args.data_dir, "ixi-miner", args.json)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    println!("{line}");
    Ok(())
}

pub(super) fn run(args: &ConnectArgs) -> anyhow::Result<()> {
    let (identity, options) = args.link.worker(Role::Miner)?;
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;
    let miner = Miner::start(
        MinerConfig {
            backend: kind,
            threads,
            batch: None,
        },
        &features,
    )?;
    eprintln!(
        "mining for the link at {} on {kind} x{threads} (Ctrl-C stops)",
        args.link.link
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        let (status_tx, mut status) = watch::channel(MinerStatus::default());
        let task = tokio::spawn(connect::run(
            identity,
            options,
            miner,
            args.nonce_len,
            stop,
            status_tx,
        ));
        let on_tty = std::io::stderr().is_terminal();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tick.tick() => {
                    if on_tty {
                        let s = status.borrow_and_update().clone();
                        eprint!(
                            "\r\x1b[K{} {}H/s  block {}  found {}  accepted {}  rejected {}  best {}",
                            if s.connected { "linked" } else { "offline" },
                            human(s.rate),
                            s.block_height.map_or_else(|| "-".to_owned(), |h| h.to_string()),
                            s.found,
                            s.accepted,
                            s.rejected,
                            s.best_accepted.map_or_else(|| "-".to_owned(), |d| d.to_string()),
                        );
                    }
                }
            }
        }
        if on_tty {
            eprintln!();
        }
        let _ = stop_tx.send(true);
        task.await.context("miner task")
    })
}
