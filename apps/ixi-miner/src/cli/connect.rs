//! `ixi-miner connect`.

use ixi_cli_common::{WorkerState, run_worker};
use ixi_link_proto::Role;
use ixi_link_worker::miner::{self, MinerStatus};
use ixi_miner::backend::CpuFeatures;
use ixi_miner::rate::human;
use ixi_observe::worker::MinerObserver;

use super::MinerConnectArgs;

/// The status line drawn each second.
fn status_line(s: &MinerStatus) -> WorkerState {
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
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
    );
    WorkerState {
        line,
        ready: s.block_height.is_some(),
    }
}

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
    Ok(run_worker(
        args.http_listen.0,
        MinerObserver::endpoint,
        move |stop, status_tx| miner::run(identity, options, miner, nonce_len, stop, status_tx),
        status_line,
    )?)
}
