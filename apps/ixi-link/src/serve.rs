//! `ixi-link serve`.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ixi_cli_common::secret::Secret;
use ixi_formats::number::IxiNumber;
use ixi_link_server::core::LinkStats;
use ixi_link_server::gateway::{DEFAULT_NODE_URL, Gateway, GatewayConfig};
use ixi_link_server::http::Credentials;
use ixi_link_server::simulate::{MiningWindows, SimConfig, SimulatedChain};
use ixi_link_server::source::NodeSource;
use ixi_link_server::{LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity};

/// Options of the simulated chain, shared by `serve --simulate` and `devnet`.
#[derive(Debug, Clone, Args)]
pub(crate) struct SimArgs {
    /// Seconds between simulated blocks.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) block_seconds: f64,
    /// Minimum difficulty of the simulated chain (decimal, consensus floor 10000000).
    #[arg(long, default_value = "10000000")]
    pub(crate) min_difficulty: String,
    /// When the simulated node mines: always, or the reference's windows and cooldowns.
    #[arg(long, default_value = "always", value_parser = ["always", "reference"])]
    pub(crate) mining_windows: String,
    /// RSA-2048 block signatures per simulated block.
    #[arg(long, default_value_t = 200)]
    pub(crate) block_signatures: usize,
    /// RSA-4096 transaction signatures per simulated block.
    #[arg(long, default_value_t = 40)]
    pub(crate) transactions: usize,
    /// Percent of the simulated signatures corrupted (they must be judged invalid).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub(crate) corrupt_percent: u32,
}

impl SimArgs {
    pub(crate) fn config(&self) -> anyhow::Result<SimConfig> {
        if !(self.block_seconds.is_finite() && self.block_seconds >= 0.1) {
            anyhow::bail!(
                "--block-seconds must be at least 0.1, got {}",
                self.block_seconds
            );
        }
        let min_difficulty: IxiNumber = self
            .min_difficulty
            .parse()
            .with_context(|| format!("--min-difficulty {:?}", self.min_difficulty))?;
        if min_difficulty < IxiNumber::from_whole(65_536) {
            // The reference's pre-filter (hash[62..63] == 0) would drop most solutions below it.
            anyhow::bail!("--min-difficulty must be at least 65536, got {min_difficulty}");
        }
        Ok(SimConfig {
            block_interval: Duration::from_secs_f64(self.block_seconds),
            min_difficulty,
            windows: if self.mining_windows == "reference" {
                MiningWindows::Reference
            } else {
                MiningWindows::AlwaysOn
            },
            block_signatures: self.block_signatures,
            transactions: self.transactions,
            corrupt_percent: self.corrupt_percent,
            ..SimConfig::default()
        })
    }
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The link's data directory (identity and authorized pins, from `init` and `authorize`).
    #[arg(long)]
    data_dir: PathBuf,
    /// Where workers connect (UDP).
    #[arg(long)]
    listen: SocketAddr,
    /// The Ixian node's HTTP API.
    #[arg(long, conflicts_with = "simulate", required_unless_present = "simulate", num_args = 0..=1, default_missing_value = DEFAULT_NODE_URL)]
    node: Option<String>,
    /// HTTP Basic user of the node's API.
    #[arg(long, requires = "node")]
    api_user: Option<String>,
    /// HTTP Basic password of the node's API.
    #[arg(long, requires = "api_user")]
    api_password: Option<Secret>,
    /// Serve a simulated chain instead of a node.
    #[arg(long)]
    simulate: bool,
    #[command(flatten)]
    sim: SimArgs,
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<()> {
    if !Identity::exists(&args.data_dir) {
        anyhow::bail!(
            "no link identity in {}: run `ixi-link init --data-dir {}` first",
            args.data_dir.display(),
            args.data_dir.display()
        );
    }
    let (identity, _) = Identity::load_or_create(&args.data_dir, "ixi-link")?;
    let pins = AuthorizedPins::load(&args.data_dir).context("reading authorized pins")?;
    let authorized = Arc::new(RwLock::new(pins));
    let config = ServerConfig::new(args.listen);
    super::runtime()?.block_on(async {
        if args.simulate {
            let chain = Arc::new(SimulatedChain::new(args.sim.config()?));
            serve(&identity, authorized, chain, config, args).await
        } else {
            let url = args.node.as_deref().unwrap_or(DEFAULT_NODE_URL);
            let mut gateway = GatewayConfig::new(url);
            if let Some(user) = &args.api_user {
                gateway.credentials = Some(Credentials {
                    user: user.clone(),
                    password: args
                        .api_password
                        .as_ref()
                        .map_or_else(String::new, |p| p.expose().to_owned()),
                });
            }
            let gateway = Arc::new(Gateway::new(gateway).context("--node")?);
            serve(&identity, authorized, gateway, config, args).await
        }
    })
}

async fn serve<S: NodeSource>(
    identity: &Identity,
    authorized: Arc<RwLock<AuthorizedPins>>,
    source: Arc<S>,
    config: ServerConfig,
    args: &ServeArgs,
) -> anyhow::Result<()> {
    let server = LinkServer::start(identity, Arc::clone(&authorized), source, config)
        .await
        .context("starting the link")?;
    eprintln!(
        "ixi-link listening on {} (pin {}); Ctrl-C stops",
        server.local_addr()?,
        identity.pin()
    );
    let mut stats = server.stats();
    let on_tty = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut ticks = 0u64;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {
                ticks += 1;
                // Pins authorized while running take effect within seconds.
                if ticks.is_multiple_of(5) {
                    match AuthorizedPins::load(&args.data_dir) {
                        Ok(p) => *authorized.write().unwrap_or_else(std::sync::PoisonError::into_inner) = p,
                        Err(e) => tracing::warn!("authorized pins not reloaded: {e}"),
                    }
                }
                if on_tty {
                    eprint!("\r\x1b[K{}", status_line(&stats.borrow_and_update()));
                }
            }
        }
    }
    if on_tty {
        eprintln!();
    }
    server.shutdown().await;
    Ok(())
}

/// One status line of a link.
pub(crate) fn status_line(s: &LinkStats) -> String {
    let state = match (&s.height, &s.idle) {
        (_, Some(idle)) => format!("idle ({idle})"),
        (Some(h), None) => format!("block {h}"),
        (None, None) => "waiting for the node".to_owned(),
    };
    format!(
        "{state}  miners {} ({})  accepted {} rejected {}  best {}  verifiers {}  verified {} mismatches {}",
        s.miners,
        ixi_miner::rate::human(s.hash_rate) + "H/s",
        s.solutions_accepted,
        s.solutions_rejected,
        s.best_difficulty
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
        s.verifiers,
        s.signatures_verified,
        s.verdict_mismatches,
    )
}
