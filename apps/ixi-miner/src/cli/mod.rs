//! Command-line interface: argument definitions and dispatch.

mod bench;
mod connect;
mod devices;
mod hash;
mod mine;

use std::num::NonZeroUsize;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use ixi_cli_common::engine::{
    count_in, parse_backend, parse_bench_seconds, parse_seconds, parse_threads, short,
    threads_or_all,
};
use ixi_cli_common::progress::TuneBars;
use ixi_miner::autotune::{self, AutoChoice};
use ixi_miner::backend::{self, BackendChoice, BackendKind, CpuFeatures};
use ixi_miner::scheduler::Miner;

/// Signer proof-of-work search for Ixian DLT nodes, on the fastest hardware this machine has.
#[derive(Debug, Parser)]
#[command(name = "ixi-miner", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    args: ixi_cli_common::config::CommandLine<Command>,
}

/// Prefix of the environment variables of this binary's settings.
pub(crate) const ENV_PREFIX: &str = "IXI_MINER";

#[derive(Debug, Subcommand)]
enum Command {
    /// Hash solutions exactly as the reference node does: JSON lines on stdin, one JSON line out
    /// per line in.
    ///
    /// Each input line: {"blockNum": "decimal", "blockHash": hex, "recipientAddress": hex
    /// (addressNoChecksum), "signingPubKey": hex, "solution": hex}. Each output line:
    /// {"hash", "difficulty", "difficultyRaw", "bits"} or {"error": "..."}.
    Hash,
    /// Mine a challenge prefix as the node's getSigningChallenge returns it.
    Mine(MineArgs),
    /// Measure the search rate against a plain sha3 double-hash loop, after a known-answer check.
    Bench(BenchArgs),
    /// List the backends this machine offers and the CPU features detected.
    Devices(ixi_cli_common::devices::DevicesArgs),
    /// Create this miner's identity (key and certificate) in a data directory and print its pin,
    /// which the link operator authorizes with `ixi-link authorize`.
    Init(ixi_cli_common::InitArgs),
    /// Configuration files: `config check --config FILE`.
    Config(ixi_cli_common::config::ConfigArgs),
    /// Mine for an ixi-link over QUIC: jobs from the link, solutions to it, reconnecting forever.
    Connect(MinerConnectArgs),
}

#[derive(Debug, Args)]
struct MinerConnectArgs {
    #[command(flatten)]
    worker: ixi_cli_common::ConnectArgs<EngineArgs, ixi_observe::HttpListen>,
    /// Nonce length in bytes, 2..=64 (the link's prefix takes its first bytes).
    #[arg(long, default_value_t = ixi_miner::job::DEFAULT_NONCE_LEN, value_parser = parse_nonce_len)]
    nonce_len: usize,
}

/// Backend and thread options shared by `mine` and `bench`.
#[derive(Debug, Args)]
struct EngineArgs {
    /// Compute backend: auto picks the fastest CPU backend by a short measurement at first use
    /// (cached per CPU model and version; `devices` says which and why); wgpu runs every GPU
    /// adapter (Vulkan, Metal, DX12).
    #[arg(long, env = "IXI_MINER_BACKEND", default_value = "auto", value_parser = parse_backend::<BackendKind>)]
    backend: BackendChoice,
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_parser = parse_threads)]
    threads: Option<NonZeroUsize>,
    /// Also mine on every GPU adapter (software ones excluded) beside the CPU backend.
    #[arg(long)]
    gpu: bool,
}

impl EngineArgs {
    /// Starts a miner with the chosen backend and threads (and the GPUs with `--gpu`).
    fn start(&self, features: &CpuFeatures) -> anyhow::Result<(Miner, BackendKind, usize)> {
        let (kind, threads) = self.resolve(features)?;
        // A GPU's first use measures its dispatch geometry: a bar on a terminal meanwhile.
        let mut bars = TuneBars::default();
        let mut on_tune = |p: backend::TuneProgress| {
            bars.step(&p.adapter, u64::from(p.done), u64::from(p.total));
        };
        let mut backends = backend::create_observed(kind, features, threads, &mut on_tune)?;
        if self.gpu && kind != BackendKind::Wgpu {
            backends.extend(backend::create_gpus_observed(false, &mut on_tune).context("--gpu")?);
        }
        Ok((Miner::with_backends(backends, None), kind, threads))
    }

    fn resolve(&self, features: &CpuFeatures) -> anyhow::Result<(BackendKind, usize)> {
        let kind = match self.backend {
            BackendChoice::Auto => auto_choice(features).kind,
            forced @ BackendChoice::Forced(_) => forced.resolve(features).context("--backend")?,
        };
        Ok((kind, threads_or_all(self.threads)))
    }
}

/// `auto`'s CPU backend: measured at first use, then cached per CPU model and version; what
/// went wrong with the cache is logged as a warning.
fn auto_choice(features: &CpuFeatures) -> AutoChoice {
    let choice = autotune::choose(features);
    for warning in &choice.warnings {
        tracing::warn!("{warning}");
    }
    tracing::info!("--backend auto runs {}: {choice}", choice.kind);
    choice
}

#[derive(Debug, Args)]
struct MineArgs {
    /// The challenge prefix in hex: varint(blockNum) ‖ blockHash ‖ addressNoChecksum ‖
    /// sha3_512sq(signingPubKey), as getSigningChallenge returns it (there in base64).
    #[arg(long)]
    challenge: String,
    /// Minimum difficulty as decimal text with up to 8 decimals (consensus floor: 10000000).
    #[arg(long, allow_hyphen_values = true)]
    min_difficulty: String,
    #[command(flatten)]
    engine: EngineArgs,
    /// Stop after this many solutions (each one better than the last); 0 mines until stopped.
    #[arg(long, default_value_t = 1)]
    solutions: u64,
    /// Stop after this many seconds, 0 to 1e9; 0 means no limit.
    #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
    seconds: f64,
    /// Nonce length in bytes, 2..=64.
    #[arg(long, default_value_t = ixi_miner::job::DEFAULT_NONCE_LEN, value_parser = parse_nonce_len)]
    nonce_len: usize,
    /// This miner's partition of the nonce space, hex, placed at the nonce's start.
    #[arg(long, default_value = "")]
    nonce_prefix: String,
    /// One JSON line per solution on stdout and nothing else.
    #[arg(long)]
    json: bool,
    /// A block's "Total Signer Difficulty" (decimal, as getblock gives it): each solution
    /// then says what it would be worth beside that block's signers (shareOfBlock,
    /// sharePercent, blockSigningRewardIxi, ixiPerBlock).
    #[arg(long)]
    total_signer_difficulty: Option<String>,
}

#[derive(Debug, Args)]
struct BenchArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Seconds to measure each backend, and again the baseline, split over the rounds (above 0,
    /// at most 3600).
    #[arg(long, default_value_t = 6.0, value_parser = parse_bench_seconds)]
    seconds: f64,
    /// Interleaved measuring rounds, 1 to 100; each measurand reports its best round.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Skip the OpenSSL anchor (`openssl speed`, about 2 s per round).
    #[arg(long)]
    no_openssl: bool,
    /// Challenge prefix length of the synthetic job, 1 to 1024 (178: v1 address, hashed key,
    /// 5-byte block number).
    #[arg(long, default_value_t = 178, value_parser = parse_prefix_len)]
    prefix_len: usize,
    /// Nonce length of the synthetic job.
    #[arg(long, default_value_t = ixi_miner::job::DEFAULT_NONCE_LEN, value_parser = parse_nonce_len)]
    nonce_len: usize,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// `--nonce-len`: 2 to 64 bytes, what a node takes.
fn parse_nonce_len(s: &str) -> Result<usize, String> {
    let range = ixi_miner::job::MIN_NONCE_LEN..=ixi_miner::job::MAX_NONCE_LEN;
    count_in(s, range).ok_or_else(|| format!("{:?}: a nonce length is 2 to 64 bytes", short(s)))
}

/// `--prefix-len`: 1 to 1024 bytes (a real challenge prefix is under 200).
fn parse_prefix_len(s: &str) -> Result<usize, String> {
    count_in(s, 1..=1024)
        .ok_or_else(|| format!("{:?}: a prefix length is 1 to 1024 bytes", short(s)))
}

/// Sets up logging (`--log-format`) and runs the parsed command.
pub(crate) fn run(Cli { args: cli }: Cli) -> anyhow::Result<()> {
    ixi_cli_common::logging::init_logging(tracing::Level::INFO, cli.log.log_format);
    match cli.command {
        Command::Hash => hash::run(),
        Command::Mine(args) => mine::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Devices(args) => devices::run(&args),
        Command::Config(args) => {
            args.run::<Cli>(ENV_PREFIX, cli.config.config.as_deref());
            Ok(())
        }
        Command::Init(args) => Ok(args.run_for::<Cli>(ENV_PREFIX)?),
        Command::Connect(args) => connect::run(&args),
    }
}
