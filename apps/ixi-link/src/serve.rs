//! `ixi-link serve`.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ixi_cli_common::engine::{count_in, parse_backend, parse_seconds, parse_threads, short};
use ixi_cli_common::secret::Secret;
use ixi_cli_common::service::{Notifier, each_second_until_stopped};
use ixi_formats::number::IxiNumber;
use ixi_link_audit::{Auditor, RetryPolicy, Rules};
use ixi_link_server::core::{LinkStats, LocalVerify};
use ixi_link_server::gateway::{DEFAULT_NODE_URL, Gateway, GatewayConfig};
use ixi_link_server::http::Credentials;
use ixi_link_server::shadow::ShadowConfig;
use ixi_link_server::{LinkExtras, LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity};
use ixi_node_api::{ClientConfig, NodeClient};
use ixi_observe::link::{self, LinkObserver};
use ixi_simnode::{MiningWindows, SimConfig, SimNode};
use ixi_verifier::backend::{self as verifier_backend, BackendChoice, BackendKind};

/// Options of the simulated node, shared by `serve --simulate`, `simnode` and `devnet`.
#[derive(Debug, Clone, Args)]
pub(crate) struct SimArgs {
    /// Seconds between simulated blocks, 0.1 to 86400.
    #[arg(long, default_value_t = 30.0, value_parser = parse_block_seconds)]
    pub(crate) block_seconds: f64,
    /// Minimum difficulty of the simulated chain (decimal, consensus floor 10000000).
    #[arg(long, default_value = "10000000")]
    pub(crate) min_difficulty: String,
    /// When the simulated node mines: always, or the reference's windows and cooldowns.
    #[arg(long, default_value = "always", value_parser = ["always", "reference"])]
    pub(crate) mining_windows: String,
    /// RSA-2048 block signatures per simulated block, 0 to 1000 (a real block's most).
    #[arg(long, default_value_t = 200, value_parser = parse_count::<1000>)]
    pub(crate) block_signatures: usize,
    /// RSA-4096 transaction signatures per simulated block, 0 to 10000.
    #[arg(long, default_value_t = 40, value_parser = parse_count::<10000>)]
    pub(crate) transactions: usize,
    /// Percent of the simulated block signatures, PoW solutions, transactions and block
    /// totals made wrong (each must be reported as a finding).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub(crate) corrupt_percent: u32,
    /// Signers of the simulated node (each mines a real PoW solution at difficulty 10^7).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub(crate) signers: u64,
}

impl SimArgs {
    pub(crate) fn config(&self) -> anyhow::Result<SimConfig> {
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
            // Bounded by the parser to 1..=64.
            #[allow(clippy::cast_possible_truncation)]
            signers: self.signers as usize,
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
    #[command(flatten)]
    auth: NodeAuthArgs,
    /// Serve a simulated node (started in-process on loopback, reached through the same
    /// gateway as a real node) instead of --node.
    #[arg(long)]
    simulate: bool,
    #[command(flatten)]
    sim: SimArgs,
    #[command(flatten)]
    shadow: ShadowArgs,
    /// The read-only HTTP endpoint (/metrics, /v1/status, the dashboard at /): an address, or
    /// off. Loopback by default: publish it through a reverse proxy if wanted.
    #[arg(long, default_value = ixi_observe::DEFAULT_LINK_HTTP, value_parser = ixi_observe::parse_http_listen)]
    http_listen: ixi_observe::HttpListen,
}

/// How long a stopping link waits for the node's answers to the solutions it forwarded and
/// for the verdicts of the batches it handed out; with the closing that follows, a stop stays
/// under 10 s.
const DRAIN_GRACE: Duration = Duration::from_secs(6);

/// Shadow verification's options, shared by `serve` and `devnet`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ShadowArgs {
    /// Append one JSON line per finding to this file (written and flushed before it counts).
    #[arg(long)]
    pub(crate) audit_log: Option<PathBuf>,
    /// Verify on the link's own threads: while no verifier is connected (auto), always, or
    /// never (work waits for a verifier).
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub(crate) local_verify: String,
    /// The engine for local verification.
    #[arg(long, env = "IXI_VERIFIER_BACKEND", default_value = "auto", value_parser = parse_backend::<BackendKind>)]
    pub(crate) local_backend: BackendChoice,
    /// Threads of local verification.
    #[arg(long, default_value = "1", value_parser = parse_threads)]
    pub(crate) local_threads: NonZeroUsize,
    /// Do not shadow-verify the node's blocks.
    #[arg(long)]
    pub(crate) no_shadow: bool,
}

impl ShadowArgs {
    pub(crate) fn local(&self) -> LocalVerify {
        match self.local_verify.as_str() {
            "always" => LocalVerify::Always,
            "never" => LocalVerify::Never,
            _ => LocalVerify::Auto,
        }
    }

    /// The link's extras for the node at `url`.
    pub(crate) fn extras(
        &self,
        url: &str,
        credentials: Option<Credentials>,
        poll_interval: Duration,
    ) -> anyhow::Result<LinkExtras> {
        if self.no_shadow {
            return Ok(LinkExtras::default());
        }
        let local_backend = match self.local() {
            LocalVerify::Never => None,
            _ => {
                let features = ixi_kernels::cpu::CpuFeatures::detect();
                let kind = self
                    .local_backend
                    .resolve(&features)
                    .context("--local-backend")?;
                let backend: Arc<dyn verifier_backend::VerifyBackend> =
                    verifier_backend::create(kind, &features, self.local_threads.get())?.into();
                Some(backend)
            }
        };
        // Its own client: a full block takes longer than the challenge polls' 5 s allow.
        let mut client = ClientConfig::new(url);
        client.credentials = credentials;
        client.timeout = Duration::from_secs(30);
        let auditor = Arc::new(Auditor::new(
            NodeClient::new(&client).context("--node")?,
            Rules::default(),
            RetryPolicy::default(),
        ));
        let mut shadow = ShadowConfig::new(auditor);
        shadow.audit_log = self.audit_log.clone();
        shadow.poll_interval = poll_interval;
        Ok(LinkExtras {
            shadow: Some(shadow),
            local_backend,
        })
    }
}

/// The gateway to the node at `url`.
pub(crate) fn gateway(
    url: &str,
    credentials: Option<Credentials>,
    poll_interval: Duration,
) -> anyhow::Result<Gateway> {
    let mut config = GatewayConfig::new(url);
    config.poll_interval = poll_interval;
    config.credentials = credentials;
    Gateway::new(config).context("--node")
}

/// The simulated node's challenge poll interval: a twentieth of a block, 50..500 ms.
pub(crate) fn sim_poll_interval(block_seconds: f64) -> Duration {
    Duration::from_secs_f64(block_seconds / 20.0)
        .clamp(Duration::from_millis(50), Duration::from_millis(500))
}

/// Shadow verification's height poll: about every 2 s, faster for fast simulated blocks.
pub(crate) fn shadow_poll_interval(block_seconds: f64) -> Duration {
    Duration::from_secs_f64(block_seconds / 2.0)
        .clamp(Duration::from_millis(100), Duration::from_secs(2))
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
    if args.simulate {
        // Checked before anything starts.
        args.sim.config()?;
    }
    let pins = AuthorizedPins::load(&args.data_dir).context("reading authorized pins")?;
    let authorized = Arc::new(RwLock::new(pins));
    let mut config = ServerConfig::new(args.listen);
    config.dispatch.local = args.shadow.local();
    super::runtime()?.block_on(async {
        // A simulated node runs in-process on loopback; either way the link reaches the node
        // through the gateway.
        let simulated = if args.simulate {
            let node = SimNode::start(args.sim.config()?, ([127, 0, 0, 1], 0).into()).await?;
            eprintln!("simulated node API on {}; preparing its chain", node.url());
            node.wait_ready(Duration::from_secs(90)).await;
            Some(node)
        } else {
            None
        };
        let (url, credentials, challenge_poll, height_poll) = match &simulated {
            Some(node) => (
                node.url(),
                None,
                sim_poll_interval(args.sim.block_seconds),
                shadow_poll_interval(args.sim.block_seconds),
            ),
            None => (
                args.node
                    .clone()
                    .unwrap_or_else(|| DEFAULT_NODE_URL.to_owned()),
                args.auth.credentials()?,
                Duration::from_secs(1),
                Duration::from_secs(2),
            ),
        };
        let gateway = gateway(&url, credentials.clone(), challenge_poll)?;
        let extras = args.shadow.extras(&url, credentials.clone(), height_poll)?;
        let mut client = ClientConfig::new(&url);
        client.credentials = credentials;
        let node = NodeClient::new(&client).context("--node")?;
        serve(
            &identity,
            authorized,
            Arc::new(gateway),
            config,
            extras,
            node,
            args,
        )
        .await
    })
}

// The arguments are the link's parts, each from its own option.
#[allow(clippy::too_many_arguments)]
async fn serve(
    identity: &Identity,
    authorized: Arc<RwLock<AuthorizedPins>>,
    source: Arc<Gateway>,
    config: ServerConfig,
    extras: LinkExtras,
    node: NodeClient,
    args: &ServeArgs,
) -> anyhow::Result<()> {
    let server = LinkServer::start_with(identity, Arc::clone(&authorized), source, config, extras)
        .await
        .context("starting the link")?;
    let observer = LinkObserver::start(server.stats(), server.shadow());
    observer.read_totals(node);
    let http = ixi_observe::http::start(args.http_listen.0, || link::endpoint(&observer, |_| {}));
    eprintln!(
        "ixi-link listening on {} (pin {}); Ctrl-C or SIGTERM stops",
        server.local_addr()?,
        identity.pin()
    );
    let mut notifier = Notifier::from_env();
    notifier.ready();
    let mut stats = server.stats();
    let on_tty = std::io::stderr().is_terminal();
    let mut ticks = 0u64;
    let mut heartbeat = server.heartbeat();
    each_second_until_stopped(|| {
        // The watchdog vouches for the coordinator: its loop must have turned.
        let beat = server.heartbeat();
        if beat != heartbeat {
            heartbeat = beat;
            notifier.alive();
        }
        ticks += 1;
        // Pins authorized while running take effect within seconds.
        if ticks.is_multiple_of(5) {
            match AuthorizedPins::load(&args.data_dir) {
                Ok(p) => {
                    *authorized
                        .write()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = p
                }
                Err(e) => tracing::warn!("authorized pins not reloaded: {e}"),
            }
        }
        if on_tty {
            eprint!("\r\x1b[K{}", status_line(&stats.borrow_and_update()));
        }
        ControlFlow::Continue(())
    })
    .await;
    if on_tty {
        eprintln!();
    }
    notifier.stopping();
    tracing::info!("stopping: answering the solutions and batches in flight");
    if server.stop(DRAIN_GRACE).await {
        tracing::info!("stopped with everything owed settled");
    }
    if let Some(http) = http {
        http.stop().await;
    }
    Ok(())
}

/// One status line of a link.
pub(crate) fn status_line(s: &LinkStats) -> String {
    let state = match (&s.height, &s.idle) {
        (_, Some(idle)) => format!("idle ({idle})"),
        (Some(h), None) => format!("block {h}"),
        (None, None) => "waiting for the node".to_owned(),
    };
    let shadow = s.shadow.as_ref().map_or_else(String::new, |sh| {
        format!(
            "  audited {} findings {}{}",
            sh.blocks_audited,
            sh.findings,
            if sh.behind > 2 {
                format!(" behind {}", sh.behind)
            } else {
                String::new()
            }
        )
    });
    format!(
        "{state}  miners {} ({})  accepted {} rejected {}  best {}  verifiers {}  verified {}{shadow}",
        s.miners,
        ixi_miner::rate::human(s.hash_rate) + "H/s",
        s.solutions_accepted,
        s.solutions_rejected,
        s.best_difficulty
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string),
        s.verifiers,
        s.signatures_verified,
    )
}

/// `--block-seconds`: 0.1 to 86400.
fn parse_block_seconds(s: &str) -> Result<f64, String> {
    let v = parse_seconds(s)?;
    if (0.1..=86_400.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} seconds between blocks: must be 0.1 to 86400"))
    }
}

/// A count from 0 to `MAX`.
fn parse_count<const MAX: usize>(s: &str) -> Result<usize, String> {
    count_in(s, 0..=MAX).ok_or_else(|| format!("{:?}: must be 0 to {MAX}", short(s)))
}

/// How the link logs in to the node's API. The password never has to be on a command line: it
/// can come from `IXI_LINK_API_PASSWORD`, a file, or the configuration file.
#[derive(Debug, Clone, Args)]
pub(crate) struct NodeAuthArgs {
    /// HTTP Basic user of the node's API.
    #[arg(long)]
    api_user: Option<String>,
    /// HTTP Basic password of the node's API. Prefer IXI_LINK_API_PASSWORD, --api-password-file
    /// or the configuration file: a command line is visible to every local user.
    #[arg(
        long,
        env = "IXI_LINK_API_PASSWORD",
        hide_env_values = true,
        requires = "api_user"
    )]
    api_password: Option<Secret>,
    /// A file whose first line is the node API's password (readable by this user only).
    #[arg(long, requires = "api_user", conflicts_with = "api_password")]
    api_password_file: Option<PathBuf>,
}

impl NodeAuthArgs {
    /// The credentials, if a user is set.
    pub(crate) fn credentials(&self) -> anyhow::Result<Option<Credentials>> {
        let Some(user) = &self.api_user else {
            return Ok(None);
        };
        let password = match (&self.api_password, &self.api_password_file) {
            (Some(p), _) => p.expose().to_owned(),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("--api-password-file {}", path.display()))?;
                text.lines().next().unwrap_or("").to_owned()
            }
            (None, None) => String::new(),
        };
        Ok(Some(Credentials {
            user: user.clone(),
            password,
        }))
    }
}
