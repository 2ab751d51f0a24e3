//! The `ixi-verifier` command as operators' scripts use it.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use ixi_test_support::cli::{
    assert_refused, assert_success, json_answers, json_lines, reference_vectors,
};
use serde_json::{Value, json};

use super::BINARY;

fn verifier() -> Command {
    Command::new(BINARY)
}

#[test]
fn verify_answers_every_line_in_order() {
    let v = reference_vectors();
    let mut input = String::new();
    let mut expected: Vec<Option<bool>> = Vec::new();
    let bad = [
        "",
        "{nope",
        r#"{"message":"00","signature":"00"}"#,
        r#"{"publicKey":"zz","message":"00","signature":"00"}"#,
        r#"{"publicKey":"00","modulus":"00","exponent":"03","message":"","signature":""}"#,
    ];
    for (i, case) in v["rsa"].as_array().unwrap().iter().enumerate() {
        let line = json!({
            "publicKey": case["publicKey"],
            "message": case["input"],
            "signature": case["signature"],
        });
        input.push_str(&format!("{line}\n"));
        expected.push(Some(case["expected"].as_bool().unwrap()));
        if i % 8 == 0 {
            input.push_str(bad[(i / 8) % bad.len()]);
            input.push('\n');
            expected.push(None);
        }
    }
    for case in v["block_signatures"].as_array().unwrap() {
        // The same keys as modulus and exponent.
        let key = hex::decode(case["signingPubKey"].as_str().unwrap()).unwrap();
        let parsed = ixi_formats::pubkey::RsaPublicKey::parse(&key).unwrap();
        let line = json!({
            "modulus": hex::encode(&parsed.modulus),
            "exponent": hex::encode(&parsed.exponent),
            "message": case["verifiedInput"],
            "signature": case["signature"],
        });
        input.push_str(&format!("{line}\n"));
        expected.push(Some(case["expected"].as_bool().unwrap()));
    }
    let mut backends = vec!["scalar", "auto"];
    if gpu_or_skip("verify --backend wgpu") {
        backends.push("wgpu");
    }
    for backend in backends {
        let got = json_answers(
            verifier(),
            &["verify", "--backend", backend, "--batch", "7"],
            &input,
        );
        assert_eq!(got.len(), expected.len(), "one line out per line in");
        for (i, (g, want)) in got.iter().zip(&expected).enumerate() {
            match want {
                Some(valid) => assert_eq!(g["valid"], *valid, "{backend} line {i}: {g}"),
                None => assert!(
                    g["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "line {i}: {g}"
                ),
            }
        }
    }
}

/// `ixi-verifier bench --key-bits 2048 --rounds 1 --json` with `extra`, which must succeed: its
/// one JSON object.
fn bench_json(extra: &[&str]) -> Value {
    let out = verifier()
        .args(["bench", "--key-bits", "2048", "--rounds", "1", "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert_success(&out);
    json_lines(&out).swap_remove(0)
}

#[test]
fn bench_json_reports_rates_and_ratios() {
    let b = bench_json(&["--seconds", "0.6", "--threads", "1"]);
    assert_eq!(b["keyBits"], 2048);
    assert_eq!(b["threads"], 1);
    assert!(b["backend"].is_string());
    assert!(b["verifiesPerSec"].as_f64().unwrap() > 0.0);
    assert!(b["scalarVerifiesPerSec"].as_f64().unwrap() > 0.0);
    assert_eq!(b["selfCheck"], "passed");
    assert!(
        b["ratioVsOneThread"].is_null(),
        "one thread has no such ratio"
    );
}

/// What `bench` measures is the reference's own valid signatures: every line of the embedded
/// vectors is a valid case of `rsa` or `block_signatures` (key, message, signature), none twice,
/// six of 2048 bits and twenty of 4096 (a line lost from the file would otherwise go unseen).
#[test]
fn bench_vectors_are_valid_reference_cases() {
    let reference = reference_vectors();
    let valid = |section: &str, key: &str, message: &str| -> Vec<[String; 3]> {
        let cases = reference[section].as_array().unwrap().iter();
        cases
            .filter(|c| c["expected"] == true)
            .map(|c| [&c[key], &c[message], &c["signature"]].map(|v| v.as_str().unwrap().into()))
            .collect()
    };
    let mut known = valid("rsa", "publicKey", "input");
    known.extend(valid("block_signatures", "signingPubKey", "verifiedInput"));
    let vectors = include_str!("../src/cli/bench_vectors.txt");
    let mut seen = std::collections::HashSet::new();
    let mut per_size = std::collections::BTreeMap::new();
    for line in vectors.lines().filter(|l| !l.starts_with('#')) {
        let [bits, key, message, signature] = line.split(' ').collect::<Vec<_>>()[..] else {
            panic!("not four fields: {line:.60}");
        };
        let message = if message == "-" { "" } else { message };
        let case = [key, message, signature].map(String::from);
        assert!(
            known.contains(&case),
            "not a valid reference case: {line:.60}"
        );
        assert!(seen.insert(case), "twice: {line:.60}");
        *per_size.entry(bits).or_insert(0) += 1;
    }
    assert_eq!(per_size, [("2048", 6), ("4096", 20)].into());
}

/// Above one thread the same backend on one thread is measured in the same run, and the ratio
/// is the two rates'.
#[test]
fn bench_json_compares_threads_in_one_run() {
    let b = bench_json(&["--seconds", "0.4", "--threads", "2", "--no-openssl"]);
    assert_eq!(b["threads"], 2);
    let rate = b["verifiesPerSec"].as_f64().unwrap();
    let one = b["oneThreadVerifiesPerSec"].as_f64().unwrap();
    assert!(one > 0.0);
    let ratio = b["ratioVsOneThread"].as_f64().unwrap();
    assert!((ratio - rate / one).abs() < 1e-9, "{b}");
    assert!(b["opensslVerifiesPerSec"].is_null());
}

/// `bench --backend wgpu`: the GPU's rate beside the CPU backends' in the same run, with its
/// adapter and variant, and no fault.
#[test]
fn bench_json_measures_the_gpu_beside_the_cpu() {
    if !gpu_or_skip("bench --backend wgpu") {
        return;
    }
    let b = bench_json(&[
        "--backend",
        "wgpu",
        "--seconds",
        "0.3",
        "--batch",
        "128",
        "--threads",
        "2",
        "--no-openssl",
    ]);
    assert_eq!(b["backend"], "wgpu");
    assert_eq!(b["batch"], 128);
    let rate = b["verifiesPerSec"].as_f64().unwrap();
    let scalar = b["scalarVerifiesPerSec"].as_f64().unwrap();
    assert!(rate > 0.0 && scalar > 0.0);
    assert!((b["ratioVsScalar"].as_f64().unwrap() - rate / scalar).abs() < 1e-9);
    assert!(b["adapter"]["name"].is_string(), "{b}");
    assert!(["u32", "u64"].contains(&b["variant"].as_str().unwrap()));
    assert_eq!(b["gpuFaults"], 0);
    assert!(b["gpuItems"].as_u64().unwrap() > 0);
    assert_eq!(b["cpuItems"], 0, "RSA-2048 with e = 65537 runs on the GPU");
    // IFMA beside it where the CPU has it.
    match b["ifmaVerifiesPerSec"].as_f64() {
        Some(ifma) => assert!((b["ratioVsIfma"].as_f64().unwrap() - rate / ifma).abs() < 1e-9),
        None => assert_ne!(b["cpuBackend"], "ifma"),
    }
    assert!(b["oneThreadVerifiesPerSec"].is_null());
}

#[test]
fn bad_options_are_clear_errors() {
    for (args, want) in [
        (["bench", "--key-bits", "3000"], "2048 or 4096"),
        (["verify", "--backend", "gpu9"], "unknown backend"),
    ] {
        let out = verifier().args(args).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(want));
    }
}

/// `devices --json`.
fn devices() -> Value {
    let out = verifier().args(["devices", "--json"]).output().unwrap();
    assert!(out.status.success());
    json_lines(&out).swap_remove(0)
}

/// Whether `devices` lists a GPU adapter; without one the reason is printed, and under
/// `REQUIRE_GPU=1` the test fails.
fn gpu_or_skip(test: &str) -> bool {
    if devices()["gpus"].as_array().is_some_and(|g| !g.is_empty()) {
        return true;
    }
    assert!(
        std::env::var("REQUIRE_GPU").map_or(true, |v| v != "1"),
        "{test}: REQUIRE_GPU=1 but devices lists no GPU adapter"
    );
    eprintln!("{test}: skipped: no GPU adapter (mesa-vulkan-drivers gives lavapipe)");
    false
}

#[test]
fn devices_and_help() {
    let d = devices();
    let backends = d["backends"].as_array().unwrap();
    assert!(backends.iter().any(|b| b["name"] == "scalar"));
    // wgpu is listed as a GPU kind, available exactly when an adapter is, never auto's.
    let wgpu = backends.iter().find(|b| b["name"] == "wgpu").unwrap();
    assert_eq!(wgpu["kind"], "gpu");
    let gpus = d["gpus"].as_array().unwrap();
    assert_eq!(wgpu["available"], !gpus.is_empty(), "{d}");
    assert_eq!(wgpu["selectedByAuto"], false);
    assert_ne!(d["auto"], "wgpu");
    for g in gpus {
        assert!(g["name"].is_string() && g["int64"].is_boolean() && g["software"].is_boolean());
    }
    for sub in ["verify", "bench", "devices"] {
        let out = verifier().args([sub, "--help"]).output().unwrap();
        assert!(out.status.success(), "{sub} --help");
    }
}

use ixi_test_support::worker_cli as connect_support;

/// A simulated chain of a block every half second: 12 RSA-2048 block signatures and 4 RSA-4096
/// transactions each, 30% corrupted.
fn chain() -> ixi_simnode::SimConfig {
    ixi_simnode::SimConfig {
        block_interval: std::time::Duration::from_millis(500),
        block_signatures: 12,
        transactions: 4,
        corrupt_percent: 30,
        signers: 1,
        wallets: 2,
        ..Default::default()
    }
}

/// Runs `ixi-verifier connect` with `extra` arguments until it has verified 40 signatures and
/// shadow verification has audited `blocks` blocks. Only the connected verifier verifies (no
/// local verification); its verdicts become the link's findings, which must be exactly the
/// simulated node's corruptions.
async fn assert_every_verdict_right(name: &str, extra: &[&str], blocks: u64) {
    let reached = connect_support::connect_with_until(BINARY, name, extra, chain(), |s| {
        s.signatures_verified >= 40
            && s.shadow
                .as_ref()
                .is_some_and(|sh| sh.blocks_audited >= blocks)
    })
    .await;
    assert_eq!(reached.stats.signatures_verified_locally, 0);
    assert!(!reached.shadow.audited.is_empty());
    assert_eq!(reached.mismatches(), 0, "{:?}", reached.shadow.findings);
}

#[tokio::test]
async fn connect_verifies_for_a_link_with_every_verdict_right() {
    assert_every_verdict_right("verifier", &[], 12).await;
}

/// `connect --backend wgpu`: the GPU verifier serves a link like any other, every verdict
/// right.
#[tokio::test]
async fn connect_verifies_for_a_link_on_the_gpu() {
    if !gpu_or_skip("connect --backend wgpu") {
        return;
    }
    assert_every_verdict_right("verifier-gpu", &["--backend", "wgpu"], 4).await;
}

#[test]
fn numeric_flags_out_of_range_are_refused_without_a_panic() {
    assert_refused(
        verifier,
        "verify",
        "
        --batch 0 => a batch is 1 to 65536 lines
        --batch 65537 => a batch is 1 to 65536 lines
        --threads 100000 => must be 1 to 1024
        ",
    );
    assert_refused(
        verifier,
        "bench",
        "
        --threads 100000 => must be 1 to 1024
        --seconds 1e300 => must be 0 to 1e9
        ",
    );
}

#[test]
fn verify_bounds_a_line_and_answers_the_next() {
    let huge = format!("{{\"message\":\"{}\"}}", "ab".repeat(1 << 20));
    let answers = json_answers(verifier(), &["verify"], &format!("{huge}\nnot json\n"));
    assert_eq!(answers.len(), 2);
    let first = answers[0]["error"].as_str().unwrap();
    assert!(first.contains("longer than"), "{first}");
    assert!(
        answers[1]["error"]
            .as_str()
            .unwrap()
            .contains("invalid JSON")
    );
}
