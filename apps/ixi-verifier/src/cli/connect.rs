//! `ixi-verifier connect`.

use std::sync::Arc;

use ixi_cli_common::{WorkerState, run_worker};
use ixi_kernels::cpu::CpuFeatures;
use ixi_link_proto::Role;
use ixi_link_worker::verifier::{self, VerifierStatus};
use ixi_observe::worker::VerifierObserver;
use ixi_verifier::backend;

use super::ConnectArgs;

/// The status line drawn each second.
fn status_line(s: &VerifierStatus) -> WorkerState {
    let line = format!(
        "{} verified {} ({} valid) in {} batches, {:.0}/s",
        if s.connected { "linked" } else { "offline" },
        s.verified,
        s.valid,
        s.batches,
        s.rate,
    );
    WorkerState {
        line,
        ready: s.connected,
    }
}

pub(super) fn run(args: &ConnectArgs) -> anyhow::Result<()> {
    let (identity, mut options) = args.link.worker(Role::Verifier)?;
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;
    let engine: Arc<dyn backend::VerifyBackend> = backend::create(kind, &features, threads)?.into();
    // A first batch sized for about 20 k verifications per second per CPU thread, or 1 k for
    // a GPU (which may be a software one; a real one's batches grow from its first measured
    // rate); the link resizes from the rates measured after each batch.
    options.measured_rate = if kind == backend::BackendKind::Wgpu {
        1_000.0
    } else {
        20_000.0 * threads as f64
    };
    eprintln!(
        "verifying for the link at {} on {} x{threads} (Ctrl-C or SIGTERM stops)",
        args.link.link,
        engine.name()
    );
    Ok(run_worker(
        args.http_listen.0,
        VerifierObserver::endpoint,
        move |stop, status_tx| verifier::run(identity, options, engine, stop, status_tx),
        status_line,
    )?)
}
