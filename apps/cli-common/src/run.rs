//! Running a worker's long-lived task until the operator or the service manager stops it, and
//! a command's exit status.

use std::future::Future;
use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ixi_observe::http::{Endpoint, serving};
use tokio::sync::watch;

use crate::service::{Notifier, STOP_GRACE, stop_signal};

/// What a worker's status closure reports each second.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerState {
    /// The status line drawn on a terminal (and sent as the service's status).
    pub line: String,
    /// Whether the worker holds work: a miner a job, a verifier a welcomed session.
    pub ready: bool,
}

/// Runs a worker's task on a small runtime until SIGTERM or SIGINT, then tells it to stop
/// (through the watch it was given) and waits for it to deliver what it holds, at most
/// [`STOP_GRACE`] and a little more. Each second `status()` is drawn on stderr when that is a
/// terminal; `READY=1` goes to the service manager the first time the worker is ready,
/// `WATCHDOG=1` while this loop runs, `STOPPING=1` when it stops.
///
/// # Errors
/// The runtime cannot start.
pub fn run_until_interrupted<F>(
    task: impl FnOnce(watch::Receiver<bool>) -> F,
    mut status: impl FnMut() -> WorkerState,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        let mut running = tokio::spawn(task(stop));
        let on_tty = std::io::stderr().is_terminal();
        let mut notifier = Notifier::from_env();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let stopped = stop_signal();
        tokio::pin!(stopped);
        let mut finished = false;
        loop {
            tokio::select! {
                () = &mut stopped => break,
                _ = &mut running => {
                    finished = true;
                    break;
                }
                _ = tick.tick() => {
                    let state = status();
                    if state.ready {
                        notifier.ready();
                    }
                    notifier.alive();
                    if on_tty {
                        eprint!("\r\x1b[K{}", state.line);
                    }
                }
            }
        }
        if on_tty {
            eprintln!();
        }
        notifier.stopping();
        let _ = stop_tx.send(true);
        // The task's own wait is bounded by STOP_GRACE; this only guards against one that
        // never ends. A panicked task has already said why on stderr.
        if !finished {
            let _ = tokio::time::timeout(STOP_GRACE + Duration::from_secs(1), running).await;
        }
    });
    Ok(())
}

/// The async runtime of a worker's task could not start.
#[derive(Debug, thiserror::Error)]
#[error("starting the async runtime")]
pub struct RuntimeError(#[source] pub std::io::Error);

/// [`run_until_interrupted`] for a worker whose link loop publishes its status `S`: the loop
/// (`work`, given the stop watch and the status's sender) runs while the endpoint of that status
/// (`endpoint`) is served at `http` when one is given, and `state` makes each second's
/// [`WorkerState`] of the latest status.
///
/// # Errors
/// [`RuntimeError`].
pub fn run_worker<S, F>(
    http: Option<SocketAddr>,
    endpoint: impl FnOnce(watch::Receiver<S>) -> Endpoint + Send + 'static,
    work: impl FnOnce(watch::Receiver<bool>, watch::Sender<S>) -> F,
    state: impl Fn(&S) -> WorkerState,
) -> Result<(), RuntimeError>
where
    S: Clone + Default + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let (status_tx, status) = watch::channel(S::default());
    let observed = status.clone();
    run_until_interrupted(
        move |stop| serving(http, move || endpoint(observed), work(stop, status_tx)),
        || {
            // A copy, so that the status is not held while its line is made.
            let latest = status.borrow().clone();
            state(&latest)
        },
    )
    .map_err(RuntimeError)
}

/// A command's exit status for what it came to: success, or failure with the error (and its
/// causes, `{:#}`) on stderr after the `binary`'s name.
pub fn exit_code<E: std::fmt::Display>(binary: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{binary}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
