//! Command-line pieces the three binaries share: the worker's link options and `init`.

use std::future::Future;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ixi_link_proto::Role;

use crate::identity::{Identity, IdentityError, Pin};
use crate::worker::WorkerOptions;

/// `init`'s options, the same for the link and every worker.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// Where the identity is kept (created if missing).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Print {"pin": ...} as JSON.
    #[arg(long)]
    pub json: bool,
}

impl InitArgs {
    /// Creates or reads the identity and returns the line to print (see [`init`]).
    ///
    /// # Errors
    /// [`IdentityError`].
    pub fn run(&self, name: &str) -> Result<String, IdentityError> {
        init(&self.data_dir, name, self.json)
    }
}

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

/// How a worker finds and authenticates its link (`connect`).
#[derive(Debug, Clone, clap::Args)]
pub struct LinkArgs {
    /// The worker's data directory (its identity; create it with `init`).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The link's address, host:port.
    #[arg(long)]
    pub link: String,
    /// The link's pin, as `ixi-link init` printed it.
    #[arg(long)]
    pub link_pin: String,
    /// A name for the link's logs and status (default: the host name or "worker").
    #[arg(long)]
    pub name: Option<String>,
}

/// Why the link options cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkArgsError {
    /// `--link-pin` is not a pin.
    #[error("--link-pin: {0}")]
    Pin(IdentityError),
    /// The data directory holds no identity.
    #[error(
        "no identity in {0}: run `init --data-dir {0}` first, then authorize its pin on the link"
    )]
    NoIdentity(String),
    /// The identity is unreadable.
    #[error(transparent)]
    Identity(IdentityError),
}

impl LinkArgs {
    /// The worker's identity and connection options.
    ///
    /// # Errors
    /// [`LinkArgsError`].
    pub fn worker(&self, role: Role) -> Result<(Identity, WorkerOptions), LinkArgsError> {
        let pin: Pin = self.link_pin.parse().map_err(LinkArgsError::Pin)?;
        if !Identity::exists(&self.data_dir) {
            return Err(LinkArgsError::NoIdentity(
                self.data_dir.display().to_string(),
            ));
        }
        let (identity, _) = Identity::load_or_create(&self.data_dir, "ixi-worker")
            .map_err(LinkArgsError::Identity)?;
        let name = self.name.clone().unwrap_or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "worker".to_owned())
        });
        Ok((
            identity,
            WorkerOptions::new(self.link.clone(), pin, role, name),
        ))
    }
}

/// `init`: creates (or reads) the identity in `dir` and returns the line to print:
/// `{"pin": "...", "created": bool, "dataDir": "..."}` with `json`, else a sentence.
///
/// # Errors
/// [`IdentityError`] when the directory or files cannot be written or read.
pub fn init(dir: &Path, name: &str, json: bool) -> Result<String, IdentityError> {
    let (identity, created) = Identity::load_or_create(dir, name)?;
    let pin = identity.pin().to_string();
    Ok(if json {
        serde_json::json!({
            "pin": pin,
            "created": created,
            "dataDir": dir.display().to_string(),
        })
        .to_string()
    } else if created {
        format!("created a {name} identity in {}\npin: {pin}", dir.display())
    } else {
        format!(
            "{name} identity in {} already exists\npin: {pin}",
            dir.display()
        )
    })
}
