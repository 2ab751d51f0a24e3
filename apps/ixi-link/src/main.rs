//! The `ixi-link` command: the node side of the link between an Ixian node and its miners and
//! verifiers, and the devnet that runs all of them on one machine.

mod audit;
mod devnet;
mod serve;
mod simnode;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use ixi_link_transport::{AuthorizedPins, Identity, Pin};

/// The node side of the ixi link: authenticated QUIC to miners and verifiers, a gateway to an
/// Ixian node's HTTP API (real or simulated), shadow verification and audits of its chain.
#[derive(Debug, Parser)]
#[command(name = "ixi-link", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    args: ixi_cli_common::config::CommandLine<Command>,
}

/// Prefix of the environment variables of this binary's settings.
const ENV_PREFIX: &str = "IXI_LINK";

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the link's identity (key and self-signed certificate) and print its pin, which
    /// workers pass as --link-pin.
    Init(ixi_cli_common::InitArgs),
    /// Configuration files: `config check --config FILE`.
    Config(ixi_cli_common::config::ConfigArgs),
    /// Authorize a worker's pin (as its `init` printed it).
    Authorize(AuthorizeArgs),
    /// Serve workers for a real node (--node) or a simulated one (--simulate), and
    /// shadow-verify the node's blocks.
    Serve(serve::ServeArgs),
    /// Re-check blocks A..=B of a node through its API: exit 0 without findings, 1 with
    /// findings, 2 on an error.
    Audit(audit::AuditArgs),
    /// Run the simulated node alone, serving the real API over HTTP.
    Simnode(simnode::SimnodeArgs),
    /// Run a simulated node, the link, one miner and one verifier, over real QUIC on loopback.
    Devnet(devnet::DevnetArgs),
}

#[derive(Debug, Args)]
struct AuthorizeArgs {
    /// The link's data directory.
    #[arg(long)]
    data_dir: PathBuf,
    /// The worker's pin.
    #[arg(long)]
    pin: String,
}

fn main() -> ExitCode {
    let Cli { args: cli } = ixi_cli_common::config::parse(ENV_PREFIX);
    // The devnet shows a status line and a summary; its per-event logs are opt-in.
    let level = if matches!(cli.command, Command::Devnet(_)) {
        tracing::Level::WARN
    } else {
        tracing::Level::INFO
    };
    ixi_cli_common::logging::init_logging(level, cli.log.log_format);
    let outcome = match cli.command {
        Command::Config(args) => {
            args.run::<Cli>(ENV_PREFIX, cli.config.config.as_deref());
            Ok(())
        }
        Command::Init(args) => args.run_for::<Cli>(ENV_PREFIX).map_err(Into::into),
        Command::Authorize(args) => authorize(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Devnet(args) => devnet::run(&args),
        Command::Simnode(args) => simnode::run(&args),
        Command::Audit(args) => {
            return match audit::run(&args) {
                Ok(false) => ExitCode::SUCCESS,
                Ok(true) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("ixi-link: error: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ixi-link: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn authorize(args: &AuthorizeArgs) -> anyhow::Result<()> {
    let pin: Pin = args.pin.parse().context("--pin")?;
    if !Identity::exists(&args.data_dir) {
        anyhow::bail!(
            "no link identity in {}: run `ixi-link init --data-dir {}` first",
            args.data_dir.display(),
            args.data_dir.display()
        );
    }
    let mut pins = AuthorizedPins::load(&args.data_dir).context("reading authorized pins")?;
    if pins
        .authorize(&args.data_dir, pin)
        .context("saving authorized pins")?
    {
        println!("authorized {pin}");
    } else {
        println!("{pin} was already authorized");
    }
    Ok(())
}

/// A tokio runtime for the long-running commands.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}
