//! `ixi-miner connect --http-listen`: its metrics (parsed by a Prometheus text parser) and
//! status while it mines for a link; `mine --total-signer-difficulty`: what a solution is worth.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use ixi_test_support::cli::assert_success;
use ixi_test_support::http::{self, total};
use ixi_test_support::worker_cli as connect_support;
use serde_json::Value;

use super::{BINARY, mining_chain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_serves_its_metrics_and_status() {
    let worker = connect_support::connect_observed(BINARY, "miner-http", mining_chain()).await;
    worker
        .wait_until("a solution accepted", |s| s.solutions_accepted >= 1)
        .await;
    let addr = worker.http;
    let (first, second, status) = tokio::task::spawn_blocking(move || {
        // Attempts are counted when a range is done, which on a loaded machine may come after
        // the first solution.
        let counted = std::time::Instant::now();
        while total(&http::scrape(addr), "ixi_miner_attempts_total") == 0.0 {
            assert!(
                counted.elapsed() < Duration::from_secs(60),
                "no attempts counted"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        std::thread::sleep(Duration::from_millis(1500));
        let first = http::scrape(addr);
        std::thread::sleep(Duration::from_secs(2));
        (first, http::scrape(addr), http::status(addr))
    })
    .await
    .unwrap();
    // Per device: this miner's one CPU, every window of its hash rate.
    let attempts = &first["ixi_miner_attempts_total"];
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].0["device"], "cpu");
    let windows: Vec<&str> = first["ixi_miner_hashrate"]
        .iter()
        .map(|(l, _)| l["window"].as_str())
        .collect();
    assert_eq!(windows, ["10s", "60s", "15m"]);
    assert!(first["ixi_miner_hashrate"].iter().all(|(_, v)| *v > 0.0));
    assert!(total(&first, "ixi_miner_solutions_total") >= 1.0);
    assert_eq!(total(&first, "ixi_miner_device_faults_total"), 0.0);
    assert!(
        first["ixi_miner_device_faults_total"][0]
            .0
            .contains_key("device")
    );
    assert!(first.contains_key("process_start_time_seconds"));
    assert!(
        !first.keys().any(|k| k.starts_with("ixi_link_")),
        "a worker has no link metrics"
    );
    assert!(total(&second, "ixi_miner_attempts_total") > total(&first, "ixi_miner_attempts_total"));

    assert_eq!(status["role"], "miner");
    assert_eq!(status["connected"], true);
    assert!(status["blockHeight"].as_u64().is_some());
    let device = &status["devices"][0];
    assert_eq!(device["device"], "cpu");
    assert_eq!(device["workers"], 1);
    assert!(device["attempts"].as_u64().unwrap() > 0);
    assert!(device["hashRate"]["10s"].as_f64().unwrap() > 0.0);
    assert!(status["hashRate"]["60s"].as_f64().unwrap() > 0.0);
    assert!(status["solutions"]["accepted"].as_u64().unwrap() >= 1);
    assert!(status["solutions"]["bestAccepted"].is_string());
    worker.finish().await;
}

#[test]
fn mine_json_says_what_a_solution_is_worth_beside_a_block_total() {
    // A challenge of block 5,000,000 (576 IXI per block signed).
    let mut prefix = ixi_formats::varint::u64_bytes(5_000_000);
    prefix.extend((0..170u8).map(|i| i.wrapping_mul(13).wrapping_add(1)));
    let out = Command::new(BINARY)
        .args(["mine", "--challenge", &hex::encode(&prefix)])
        .args(["--min-difficulty", "1000", "--threads", "1", "--json"])
        .args(["--total-signer-difficulty", "99000000.5"])
        .output()
        .unwrap();
    assert_success(&out);
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    // Every field of a plain solution line stays.
    for field in [
        "nonce",
        "nonceBase64",
        "hash",
        "difficulty",
        "difficultyRaw",
        "bits",
        "backend",
        "blockNum",
        "attempts",
        "elapsedSeconds",
    ] {
        assert!(line.get(field).is_some(), "{field} missing: {line}");
    }
    assert_eq!(line["blockNum"], "5000000");
    assert_eq!(line["totalSignerDifficulty"], "99000000.50000000");
    let d: f64 = line["difficulty"].as_str().unwrap().parse().unwrap();
    let share = d / (99_000_000.5 + d);
    assert!(
        (line["shareOfBlock"].as_f64().unwrap() - share).abs() < 1e-15,
        "{line}"
    );
    assert!((line["sharePercent"].as_f64().unwrap() - 100.0 * share).abs() < 1e-12);
    assert_eq!(line["blockSigningRewardIxi"], 576);
    assert!((line["ixiPerBlock"].as_f64().unwrap() - 576.0 * share).abs() < 1e-12);

    // Without the flag, none of it.
    let out = Command::new(BINARY)
        .args(["mine", "--challenge", &hex::encode(&prefix)])
        .args(["--min-difficulty", "1000", "--threads", "1", "--json"])
        .output()
        .unwrap();
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(line.get("shareOfBlock").is_none());
    // A total that is no difficulty is refused.
    let out = Command::new(BINARY)
        .args(["mine", "--challenge", &hex::encode(&prefix)])
        .args([
            "--min-difficulty",
            "1000",
            // `=`: else the command line reads "-5" as a flag of its own.
            "--total-signer-difficulty=-5",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--total-signer-difficulty"));
}
