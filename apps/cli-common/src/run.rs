//! Running a worker's long-lived task until the operator stops it.

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

/// Runs a worker's task on a small runtime until Ctrl-C, then tells it to stop (through the
/// watch it was given) and waits for it. Each second `status()` is drawn on stderr when that is
/// a terminal.
///
/// # Errors
/// The runtime cannot start.
pub fn run_until_interrupted<F>(
    task: impl FnOnce(tokio::sync::watch::Receiver<bool>) -> F,
    mut status: impl FnMut() -> String,
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
        let running = tokio::spawn(task(stop));
        let on_tty = std::io::stderr().is_terminal();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = tick.tick() => if on_tty {
                    eprint!("\r\x1b[K{}", status());
                },
            }
        }
        if on_tty {
            eprintln!();
        }
        let _ = stop_tx.send(true);
        // A panicked task has already said why on stderr.
        let _ = running.await;
    });
    Ok(())
}
