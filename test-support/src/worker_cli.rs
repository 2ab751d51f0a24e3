//! Runs a worker binary's `init` and `connect` against a link serving the simulated node
//! (over its HTTP API, with shadow verification): shared by the miner's and the verifier's CLI
//! tests.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ixi_link_server::core::LinkStats;
use ixi_link_server::core::LocalVerify;
use ixi_link_server::gateway::{Gateway, GatewayConfig};
use ixi_link_server::shadow::{ShadowConfig, ShadowReport};
use ixi_link_server::{LinkExtras, LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity, Pin};
use ixi_simnode::{Corruption, SimConfig, SimNode};
use std::collections::BTreeMap;

use crate::cli::assert_success;
use crate::process::{Killed, temp_dir};

/// What a connected worker's run came to.
pub struct Reached {
    /// The link's counters.
    pub stats: LinkStats,
    /// Shadow verification's findings and audited blocks.
    pub shadow: ShadowReport,
    /// The simulated node's ledger of what it made wrong.
    pub ledger: BTreeMap<u64, Vec<Corruption>>,
}

impl Reached {
    /// Findings that differ from the ledger over the audited blocks (a finding on a clean
    /// item, or a corrupted item not found).
    pub fn mismatches(&self) -> usize {
        let found: std::collections::BTreeSet<_> = self
            .shadow
            .findings
            .iter()
            .filter(|f| self.shadow.audited.contains(&f.block))
            .map(|f| (f.block, f.kind.as_str(), f.index))
            .collect();
        let truth: std::collections::BTreeSet<_> = self
            .ledger
            .iter()
            .filter(|(b, _)| self.shadow.audited.contains(b))
            .flat_map(|(b, c)| c.iter().map(move |c| (*b, c.kind, c.index)))
            .collect();
        found.symmetric_difference(&truth).count()
    }
}

/// Runs `binary init` in `dir` and returns the worker's pin.
pub fn init(binary: &str, dir: &std::path::Path) -> Pin {
    let out = Command::new(binary)
        .args(["init", "--data-dir", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    init["pin"].as_str().unwrap().parse().unwrap()
}

/// Starts `binary connect` from `dir` to the link at `addr` with one thread and `extra`
/// arguments (a backend, say); killed on drop.
pub fn spawn_connect(
    binary: &str,
    dir: &std::path::Path,
    addr: &str,
    link_pin: Pin,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Killed {
    Killed(
        Command::new(binary)
            .args([
                "connect",
                "--data-dir",
                dir.to_str().unwrap(),
                "--link",
                addr,
            ])
            .args(["--link-pin", &link_pin.to_string(), "--threads", "1"])
            .args(extra)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// A worker binary running `connect --http-listen` for a link serving `chain`.
pub struct ObservedWorker {
    pub dir: PathBuf,
    pub link: LinkServer,
    pub node: SimNode,
    pub worker: Killed,
    /// The worker's HTTP endpoint.
    pub http: std::net::SocketAddr,
}

/// Initializes `binary` in a new data directory called after `name`, starts a link for
/// `chain` that authorizes it, and runs its `connect` with an HTTP endpoint on a free port.
pub async fn connect_observed(binary: &str, name: &str, chain: SimConfig) -> ObservedWorker {
    let dir = temp_dir(name);
    let pin = init(binary, &dir);
    let (link_id, link, node) = link_for(pin, chain).await;
    let http: std::net::SocketAddr = format!("127.0.0.1:{}", crate::http::free_port())
        .parse()
        .unwrap();
    let worker = spawn_connect(
        binary,
        &dir,
        &link.local_addr().unwrap().to_string(),
        link_id.pin(),
        &["--http-listen", &http.to_string()],
        &[],
    );
    ObservedWorker {
        dir,
        link,
        node,
        worker,
        http,
    }
}

impl ObservedWorker {
    /// Waits (at most 90 s) until `done` holds for the link's counters; `what` names it in the
    /// failure.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&LinkStats) -> bool) {
        let mut stats = self.link.stats();
        tokio::time::timeout(Duration::from_secs(90), async {
            while !done(&stats.borrow_and_update()) {
                stats.changed().await.unwrap();
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{what} in time"));
    }

    /// Stops the link, the node and the worker, and removes the data directory.
    pub async fn finish(self) {
        self.link.shutdown().await;
        self.node.stop();
        drop(self.worker);
        std::fs::remove_dir_all(&self.dir).unwrap();
    }
}

/// A link serving exactly `worker`, on the simulated node (over its HTTP API, with shadow
/// verification and no local verification: only workers verify). Keep the node alive.
pub async fn link_for(worker: Pin, chain: SimConfig) -> (Identity, LinkServer, SimNode) {
    let link_id = Identity::generate("ixi-link").unwrap();
    let pins = Arc::new(RwLock::new(AuthorizedPins::from_pins([worker])));
    let node = SimNode::start(chain, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    assert!(node.wait_ready(Duration::from_secs(90)).await);
    let mut gateway = GatewayConfig::new(&node.url());
    gateway.poll_interval = Duration::from_millis(100);
    let gateway = Arc::new(Gateway::new(gateway).unwrap());
    let mut shadow = ShadowConfig::new(Arc::new(ixi_link_audit_auditor(&gateway)));
    shadow.poll_interval = Duration::from_millis(200);
    let mut config = ServerConfig::new(([127, 0, 0, 1], 0).into());
    config.dispatch.local = LocalVerify::Never;
    let link = LinkServer::start_with(
        &link_id,
        pins,
        gateway,
        config,
        LinkExtras {
            shadow: Some(shadow),
            local_backend: None,
        },
    )
    .await
    .unwrap();
    (link_id, link, node)
}

/// `init`s a worker in a fresh directory, serves it from a link on the simulated node (no
/// local verification: only the worker verifies) and runs `connect` until `done` holds for
/// the link's counters.
pub async fn connect_until(
    binary: &str,
    name: &str,
    chain: SimConfig,
    done: impl Fn(&LinkStats) -> bool,
) -> Reached {
    connect_with_until(binary, name, &[], chain, done).await
}

/// As [`connect_until`], with `extra` arguments to `connect` (a backend, say).
pub async fn connect_with_until(
    binary: &str,
    name: &str,
    extra: &[&str],
    chain: SimConfig,
    done: impl Fn(&LinkStats) -> bool,
) -> Reached {
    let dir = temp_dir(name);
    let worker_pin = init(binary, &dir);
    let (link_id, link, node) = link_for(worker_pin, chain).await;
    let addr = link.local_addr().unwrap().to_string();
    let _child = spawn_connect(binary, &dir, &addr, link_id.pin(), extra, &[]);
    let mut stats = link.stats();
    let reached = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            if done(&stats.borrow_and_update()) {
                return stats.borrow().clone();
            }
            stats.changed().await.unwrap();
        }
    })
    .await
    .expect("the connected worker did its work in time");
    let shadow = link.shadow().map(|s| s.report()).unwrap_or_default();
    link.shutdown().await;
    let ledger = node.chain().ledger();
    node.stop();
    std::fs::remove_dir_all(&dir).unwrap();
    Reached {
        stats: reached,
        shadow,
        ledger,
    }
}

fn ixi_link_audit_auditor(gateway: &Gateway) -> ixi_link_audit::Auditor {
    ixi_link_audit::Auditor::new(
        gateway.client().clone(),
        ixi_link_audit::Rules::default(),
        ixi_link_audit::RetryPolicy::default(),
    )
}
