//! Running a worker's long-lived task until the operator or the service manager stops it.

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

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
    task: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F,
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
        let (stop_tx, stop) = tokio::sync::watch::channel(false);
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
