//! `ixi-miner connect`.

use anyhow::Context as _;
use ixi_cli_common::{WorkerState, run_until_interrupted};
use ixi_link_proto::Role;
use ixi_link_worker::miner::{self, MinerStatus};
use ixi_miner::backend::CpuFeatures;
use ixi_miner::rate::human;
use ixi_observe::worker::MinerObserver;
use tokio::sync::watch;

use super::MinerConnectArgs;

pub(super) fn run(args: &MinerConnectArgs) -> anyhow::Result<()> {
    let nonce_len = args.nonce_len;
    // What every worker's `connect` takes.
    let args = &args.worker;
    let (identity, options) = args.link.worker(Role::Miner)?;
    let features = CpuFeatures::detect();
    let (miner, kind, threads) = args.engine.start(&features)?;
    eprintln!(
        "mining for the link at {} on {kind} x{threads} (Ctrl-C or SIGTERM stops)",
        args.link.link
    );
    let (status_tx, status) = watch::channel(MinerStatus::default());
    let http = args.http_listen.0;
    let observed = status.clone();
    run_until_interrupted(
        move |stop| {
            ixi_observe::http::serving(
                http,
                || MinerObserver::endpoint(observed),
                miner::run(identity, options, miner, nonce_len, stop, status_tx),
            )
        },
        || {
            let s = status.borrow().clone();
            let line = format!(
                "{} {}H/s  block {}  found {}  accepted {}  rejected {}  best {}",
                if s.connected { "linked" } else { "offline" },
                human(s.rate),
                s.block_height
                    .map_or_else(|| "-".to_owned(), |h| h.to_string()),
                s.found,
                s.accepted,
                s.rejected,
                s.best_accepted
                    .map_or_else(|| "-".to_owned(), |d| d.to_string()),
            );
            WorkerState {
                line,
                ready: s.block_height.is_some(),
            }
        },
    )
    .context("starting the async runtime")
}
