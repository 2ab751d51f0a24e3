//! Runs a worker binary's `init` and `connect` against a link on a simulated chain: shared by
//! the miner's and the verifier's CLI tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use ixi_link_server::core::LinkStats;
use ixi_link_server::simulate::{SimConfig, SimulatedChain};
use ixi_link_server::{LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity, Pin};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ixi-connect-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `init`s a worker in a fresh directory, serves it from a link and runs `connect` until
/// `done` holds for the link's counters; returns them.
pub async fn connect_until(
    binary: &str,
    name: &str,
    chain: SimConfig,
    done: impl Fn(&LinkStats) -> bool,
) -> LinkStats {
    connect_with_until(binary, name, &[], chain, done).await
}

/// As [`connect_until`], with `extra` arguments to `connect` (a backend, say).
pub async fn connect_with_until(
    binary: &str,
    name: &str,
    extra: &[&str],
    chain: SimConfig,
    done: impl Fn(&LinkStats) -> bool,
) -> LinkStats {
    let dir = temp_dir(name);
    let out = Command::new(binary)
        .args(["init", "--data-dir", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let init: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let worker_pin: Pin = init["pin"].as_str().unwrap().parse().unwrap();

    let link_id = Identity::generate("ixi-link").unwrap();
    let pins = Arc::new(RwLock::new(AuthorizedPins::from_pins([worker_pin])));
    let chain = Arc::new(SimulatedChain::new(chain));
    let link = LinkServer::start(
        &link_id,
        pins,
        chain,
        ServerConfig::new(([127, 0, 0, 1], 0).into()),
    )
    .await
    .unwrap();
    let addr = link.local_addr().unwrap().to_string();
    let _child = Killed(
        Command::new(binary)
            .args([
                "connect",
                "--data-dir",
                dir.to_str().unwrap(),
                "--link",
                &addr,
            ])
            .args(["--link-pin", &link_id.pin().to_string(), "--threads", "1"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
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
    link.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
    reached
}
