//! Command-line interface: argument definitions and dispatch.

mod bench;
mod connect;
mod devices;
mod verify;

use std::num::NonZeroUsize;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use ixi_cli_common::engine::{
    count_in, parse_backend, parse_bench_seconds, parse_threads, short, threads_or_all,
};
use ixi_kernels::cpu::CpuFeatures;
use ixi_verifier::backend::{BackendChoice, BackendKind};

/// Exact batch RSA PKCS#1 v1.5 SHA-512 verification for Ixian DLT nodes.
#[derive(Debug, Parser)]
#[command(name = "ixi-verifier", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    args: ixi_cli_common::config::CommandLine<Command>,
}

/// Prefix of the environment variables of this binary's settings.
pub(crate) const ENV_PREFIX: &str = "IXI_VERIFIER";

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify signatures: JSON lines on stdin, one JSON line out per line in, in order.
    ///
    /// Each input line: {"publicKey": hex} (Ixian layout) or {"modulus": hex, "exponent": hex},
    /// plus "message": hex and "signature": hex. Each output line: {"valid": true|false} (with
    /// "reason" when a key is unusable, which the reference also answers with false), or
    /// {"error": "..."} for a malformed line. Lines are verified in batches.
    Verify(VerifyArgs),
    /// Measure verifications per second against the scalar backend and OpenSSL in one run
    /// (and, for wgpu, against the IFMA backend).
    Bench(BenchArgs),
    /// List the backends this machine offers and the CPU features detected.
    Devices(ixi_cli_common::devices::DevicesArgs),
    /// Create this verifier's identity (key and certificate) in a data directory and print its
    /// pin, which the link operator authorizes with `ixi-link authorize`.
    Init(ixi_cli_common::InitArgs),
    /// Configuration files: `config check --config FILE`.
    Config(ixi_cli_common::config::ConfigArgs),
    /// Verify for an ixi-link over QUIC: batches from the link, verdicts to it, reconnecting
    /// forever.
    Connect(ConnectArgs),
}

type ConnectArgs = ixi_cli_common::ConnectArgs<EngineArgs, ixi_observe::HttpListen>;

/// Backend and thread options.
#[derive(Debug, Args)]
struct EngineArgs {
    /// Verification backend: auto picks the fastest CPU backend this machine supports; wgpu
    /// runs the GPU (the first hardware adapter, else the first), with the CPU backend beside
    /// it for what the GPU does not take.
    #[arg(long, env = "IXI_VERIFIER_BACKEND", default_value = "auto", value_parser = parse_backend::<BackendKind>)]
    backend: BackendChoice,
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_parser = parse_threads)]
    threads: Option<NonZeroUsize>,
}

impl EngineArgs {
    fn resolve(&self, features: &CpuFeatures) -> anyhow::Result<(BackendKind, usize)> {
        let kind = self.backend.resolve(features).context("--backend")?;
        Ok((kind, threads_or_all(self.threads)))
    }
}

fn parse_key_bits(s: &str) -> Result<usize, String> {
    match s.trim() {
        "2048" => Ok(2048),
        "4096" => Ok(4096),
        other => Err(format!("{:?}: expected 2048 or 4096", short(other))),
    }
}

/// `verify --batch`: 1 to 65536 lines.
fn parse_batch(s: &str) -> Result<usize, String> {
    count_in(s, 1..=65536).ok_or_else(|| format!("{:?}: a batch is 1 to 65536 lines", short(s)))
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    engine: EngineArgs,
    /// Most lines verified together, 1 to 65536.
    #[arg(long, default_value_t = 4096, value_parser = parse_batch)]
    batch: usize,
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// Key size: 2048 (block signatures) or 4096 (transactions).
    #[arg(long, default_value_t = 4096, value_parser = parse_key_bits)]
    key_bits: usize,
    #[command(flatten)]
    engine: EngineArgs,
    /// Seconds to measure each backend, split over the rounds (above 0, at most 3600).
    #[arg(long, default_value_t = 6.0, value_parser = parse_bench_seconds)]
    seconds: f64,
    /// Interleaved measuring rounds, 1 to 100; each measurand reports its best round.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,
    /// Items per measured batch. The default is the largest batch ixi-link hands a verifier
    /// (its default `max_batch`) and `verify`'s default `--batch`; smaller batches pay a fixed
    /// cost per batch (waking the pool's threads, the last vector of eight finishing alone, a
    /// GPU's round trip) that shows: about 3% at 512 items on two threads with ifma.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Skip the OpenSSL anchor (`openssl speed rsaN`, about 2 s per round).
    #[arg(long)]
    no_openssl: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Sets up logging (`--log-format`) and runs the parsed command.
pub(crate) fn run(Cli { args: cli }: Cli) -> anyhow::Result<()> {
    ixi_cli_common::logging::init_logging(tracing::Level::INFO, cli.log.log_format);
    match cli.command {
        Command::Verify(args) => verify::run(&args),
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
