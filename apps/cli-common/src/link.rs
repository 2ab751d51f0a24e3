//! `init` and the worker's `connect` options, the same for every binary.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clap::{Args, CommandFactory};

use ixi_link_proto::Role;

use ixi_link_transport::identity::{Identity, IdentityError, Pin};
use ixi_link_worker::client::WorkerOptions;

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

    /// Creates or reads the identity, writes `example` as `<name>.toml` beside it unless that
    /// file exists (every setting commented out: it changes nothing until edited), and prints
    /// the line (`init`'s whole job).
    ///
    /// # Errors
    /// [`IdentityError`] (it names the file).
    pub fn run_and_print(&self, name: &str, example: &str) -> Result<(), IdentityError> {
        let line = self.run(name)?;
        let path = self.data_dir.join(format!("{name}.toml"));
        if std::fs::symlink_metadata(&path).is_err() {
            ixi_link_transport::private_fs::create_new(&path, example.as_bytes())?;
        }
        println!("{line}");
        Ok(())
    }

    /// `init` of the command whose settings are `T`: [`Self::run_and_print`] under the
    /// command's name, with the example of its settings (environment prefix `prefix`).
    ///
    /// # Errors
    /// [`InitError`], naming the data directory.
    pub fn run_for<T: CommandFactory>(&self, prefix: &str) -> Result<(), InitError> {
        let name = T::command().get_name().to_owned();
        self.run_and_print(&name, &crate::config::example::<T>(prefix))
            .map_err(|source| InitError {
                data_dir: self.data_dir.clone(),
                source,
            })
    }
}

/// `init` failed in a data directory.
#[derive(Debug, thiserror::Error)]
#[error("--data-dir {}", data_dir.display())]
pub struct InitError {
    /// The data directory.
    pub data_dir: PathBuf,
    /// What went wrong (it names the file).
    #[source]
    pub source: IdentityError,
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

/// `connect`'s options as both worker binaries take them: how to reach the link, the engine's
/// options `E`, and the read-only HTTP endpoint `H` (`ixi_observe::HttpListen`, read by its
/// `FromStr`).
#[derive(Debug, Args)]
pub struct ConnectArgs<E, H>
where
    E: Args,
    H: FromStr + Clone + Send + Sync + 'static,
    H::Err: Into<Box<dyn Error + Send + Sync + 'static>>,
{
    /// The link's address and pin, the worker's identity and name.
    #[command(flatten)]
    pub link: LinkArgs,
    /// The engine's options.
    #[command(flatten)]
    pub engine: E,
    /// A read-only HTTP endpoint (/metrics, /v1/status): an address such as 127.0.0.1:7463,
    /// or off.
    #[arg(long, default_value = "off", value_parser = H::from_str)]
    pub http_listen: H,
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
