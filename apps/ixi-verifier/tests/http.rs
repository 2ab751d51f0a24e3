//! `ixi-verifier connect --http-listen`: its metrics (parsed by a Prometheus text parser) and
//! status while it verifies for a link.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ixi_formats::number::IxiNumber;
use ixi_simnode::SimConfig;
use ixi_test_support::http::{self, total};
use ixi_test_support::worker_cli as connect_support;

use super::BINARY;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_serves_its_metrics_and_status() {
    let chain = SimConfig {
        block_interval: Duration::from_secs(1),
        min_difficulty: IxiNumber::from_whole(1_000_000),
        block_signatures: 8,
        transactions: 2,
        signers: 2,
        ..SimConfig::default()
    };
    let worker = connect_support::connect_observed(BINARY, "verifier-http", chain).await;
    worker
        .wait_until("signatures verified", |s| s.signatures_verified >= 40)
        .await;
    let addr = worker.http;
    let (first, second, status) = tokio::task::spawn_blocking(move || {
        let first = http::scrape(addr);
        std::thread::sleep(Duration::from_secs(3));
        (first, http::scrape(addr), http::status(addr))
    })
    .await
    .unwrap();
    // Block signatures are RSA-2048, transactions RSA-4096.
    let by_bits: Vec<&str> = first["ixi_verifier_verifications_total"]
        .iter()
        .map(|(l, _)| l["key_bits"].as_str())
        .collect();
    assert!(
        by_bits.contains(&"2048") && by_bits.contains(&"4096"),
        "{by_bits:?}"
    );
    let batches = total(&first, "ixi_verifier_batch_seconds");
    assert!(batches >= 1.0);
    assert!(total(&first, "ixi_verifier_batch_seconds_sum") > 0.0);
    assert_eq!(total(&first, "ixi_verifier_batch_seconds_count"), batches);
    assert!(first.contains_key("process_start_time_seconds"));
    assert!(
        !first
            .keys()
            .any(|k| k.starts_with("ixi_link_") || k.starts_with("ixi_miner_"))
    );
    assert!(
        total(&second, "ixi_verifier_verifications_total")
            > total(&first, "ixi_verifier_verifications_total")
    );

    assert_eq!(status["role"], "verifier");
    assert_eq!(status["connected"], true);
    let verified = status["verified"].as_u64().unwrap();
    assert_eq!(http::sum_of_counts(&status["byKeyBits"]), verified);
    assert!(status["perSecond"]["60s"].as_f64().unwrap() > 0.0);
    let buckets = status["batchSeconds"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.last().unwrap()["le"], "+Inf");
    assert_eq!(
        buckets.last().unwrap()["count"],
        status["batchSeconds"]["count"]
    );
    worker.finish().await;
}
