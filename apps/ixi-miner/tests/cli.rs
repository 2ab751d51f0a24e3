//! The `ixi-miner` command as operators' scripts use it.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::expect_fun_call,
    clippy::cast_possible_truncation
)]

use std::process::{Command, Output};

use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_test_support::cli::{
    assert_refused, assert_success, json_answers, json_lines, reference_vectors,
};
use ixi_test_support::process::{scratch_dir, temp_dir};
use serde_json::{Value, json};

use super::{BINARY, mining_chain};

/// The miner with a cache directory of this test run's own, never the user's.
fn miner() -> Command {
    let mut cmd = Command::new(BINARY);
    cmd.env("IXI_MINER_CACHE_DIR", scratch_dir("miner-cache"));
    cmd
}

fn run(args: &[&str]) -> Output {
    miner().args(args).output().unwrap()
}

#[test]
fn hash_answers_every_line_in_order_and_survives_bad_ones() {
    let v = reference_vectors();
    let cases = v["pow"].as_array().unwrap();
    assert!(!cases.is_empty());
    let bad_lines = [
        "",
        "{not json",
        r#"{"blockNum":"1"}"#,
        r#"{"blockNum":"x","blockHash":"","recipientAddress":"","signingPubKey":"","solution":"00"}"#,
        r#"{"blockNum":"1","blockHash":"0g","recipientAddress":"","signingPubKey":"","solution":"00"}"#,
    ];
    let mut input = String::new();
    let mut expected: Vec<Option<&Value>> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let line = serde_json::json!({
            "blockNum": case["blockNum"],
            "blockHash": case["blockHash"],
            "recipientAddress": case["recipientAddress"],
            "signingPubKey": case["signingPubKey"],
            "solution": case["solution"],
        });
        input.push_str(&line.to_string());
        input.push('\n');
        expected.push(Some(case));
        if i % 30 == 0 {
            input.push_str(bad_lines[(i / 30) % bad_lines.len()]);
            input.push('\n');
            expected.push(None);
        }
    }
    // A nonce of 65 bytes and an empty nonce have no hash in the reference.
    let first = &cases[0];
    for nonce in ["", &"ab".repeat(65)] {
        let line = serde_json::json!({
            "blockNum": first["blockNum"], "blockHash": first["blockHash"],
            "recipientAddress": first["recipientAddress"],
            "signingPubKey": first["signingPubKey"], "solution": nonce,
        });
        input.push_str(&line.to_string());
        input.push('\n');
        expected.push(None);
    }
    let lines = json_answers(miner(), &["hash"], &input);
    assert_eq!(lines.len(), expected.len(), "one line out per line in");
    for (got, want) in lines.iter().zip(expected) {
        match want {
            Some(case) => {
                for (field, key) in [
                    ("hash", "hash"),
                    ("difficulty", "difficulty"),
                    ("difficultyRaw", "difficultyRaw"),
                    ("bits", "bits"),
                ] {
                    assert_eq!(got[field], case[key], "{} {field}", case["id"]);
                }
            }
            None => {
                let msg = got["error"].as_str().unwrap_or_else(|| panic!("{got}"));
                assert!(!msg.is_empty());
            }
        }
    }
}

#[test]
fn mine_json_prints_only_verified_improving_solutions() {
    let prefix: Vec<u8> = (0..178u32).map(|i| (i * 7 + 3) as u8).collect();
    let hex_prefix = hex::encode(&prefix);
    let out = run(&[
        "mine",
        "--challenge",
        &hex_prefix,
        "--min-difficulty",
        "1000",
        "--solutions",
        "3",
        "--threads",
        "2",
        "--json",
    ]);
    assert_success(&out);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    let min = IxiNumber::from_whole(1000);
    let mut last: Option<IxiNumber> = None;
    for line in &lines {
        let nonce = hex::decode(line["nonce"].as_str().unwrap()).unwrap();
        assert_eq!(nonce.len(), 32);
        // The form submitSigningSolution takes: standard base64 with padding.
        let b64 = line["nonceBase64"].as_str().unwrap();
        assert!(b64.ends_with('=') && b64.len() == 44, "{b64}");
        assert_eq!(
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap(),
            nonce
        );
        let hash = solution::hash_with_prefix(&prefix, &nonce).unwrap();
        assert_eq!(line["hash"], hex::encode(hash));
        let d = difficulty::hash_to_difficulty(&hash).unwrap();
        assert!(d >= min);
        assert_eq!(line["difficulty"], d.to_string());
        assert_eq!(line["difficultyRaw"], d.raw().to_string());
        assert!(!line["backend"].as_str().unwrap().is_empty());
        assert!(last.as_ref().is_none_or(|l| &d > l), "improving");
        last = Some(d);
    }
}

#[test]
fn mine_rejects_bad_input_with_a_clear_error() {
    let good = "00".repeat(100);
    let cases: [(&[&str], &str); 7] = [
        (
            &["--challenge", "zz", "--min-difficulty", "1000"],
            "--challenge",
        ),
        (
            &["--challenge", "", "--min-difficulty", "1000"],
            "empty challenge",
        ),
        (
            &["--challenge", &good, "--min-difficulty", "abc"],
            "--min-difficulty",
        ),
        (
            &["--challenge", &good, "--min-difficulty", "0"],
            "must be positive",
        ),
        (
            &["--challenge", &good, "--min-difficulty", "-5"],
            "must be positive",
        ),
        (
            &["--challenge", &good, "--min-difficulty", &"9".repeat(200)],
            "unreachable",
        ),
        (
            &[
                "--challenge",
                &good,
                "--min-difficulty",
                "1000",
                "--nonce-len",
                "65",
            ],
            "nonce length",
        ),
    ];
    for (args, want) in cases {
        let mut all = vec!["mine"];
        all.extend_from_slice(args);
        let out = run(&all);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let out = run(&[
        "mine",
        "--challenge",
        &good,
        "--min-difficulty",
        "1000",
        "--backend",
        "nope",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend"));
}

#[test]
fn bench_json_reports_rate_and_in_run_baseline() {
    let out = run(&[
        "bench",
        // Long enough for a few of the largest batches (2^19 attempts) per backend on a
        // loaded machine: attempts are counted per finished batch.
        "--seconds",
        "3",
        "--rounds",
        "1",
        "--threads",
        "1",
        "--no-openssl",
        "--json",
    ]);
    assert_success(&out);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "one JSON object");
    let b = &lines[0];
    assert!(b["backend"].is_string());
    assert_eq!(b["threads"], 1);
    assert!(b["attemptsPerSec"].as_f64().unwrap() > 0.0);
    assert!(b["baselineAttemptsPerSec"].as_f64().unwrap() > 0.0);
    assert_eq!(b["selfCheck"], "passed");
    // Every backend this machine runs is measured, each with its in-run ratio.
    let backends = b["backends"].as_array().unwrap();
    assert!(backends.iter().any(|x| x["backend"] == b["backend"]));
    for x in backends {
        assert!(x["attemptsPerSec"].as_f64().unwrap() > 0.0);
        assert!(x["ratio"].as_f64().unwrap() > 0.0);
        assert!(x["variant"].is_string(), "{x}");
    }
    assert!(b["variant"].is_string(), "{b}");
    let cpu = &b["cpu"];
    assert!(
        cpu["vendor"].is_string() && cpu["modelName"].is_string(),
        "{cpu}"
    );
    assert!(cpu["family"].is_u64() && cpu["model"].is_u64(), "{cpu}");
}

#[test]
fn auto_is_measured_once_then_cached_and_devices_says_which_and_why() {
    let cache = scratch_dir("miner-auto");
    let devices = || {
        let out = miner()
            .env("IXI_MINER_CACHE_DIR", &cache)
            .args(["devices", "--json"])
            .output()
            .unwrap();
        assert_success(&out);
        json_lines(&out).remove(0)
    };
    let first = devices();
    let features = ixi_kernels::cpu::CpuFeatures::detect();
    if features.avx2().is_none() {
        // One candidate: nothing measured, nothing cached.
        ixi_kernels::cpu::skip_simd_test("auto's measurement", "AVX2");
        assert_eq!(first["auto"], "soft");
        return;
    }
    let reason = first["autoReason"].as_str().unwrap();
    assert!(reason.starts_with("measured now: "), "{reason}");
    assert!(reason.contains(first["auto"].as_str().unwrap()), "{reason}");
    let second = devices();
    assert_eq!(second["auto"], first["auto"]);
    let reason = second["autoReason"].as_str().unwrap();
    assert!(reason.starts_with("cached from "), "{reason}");
    // Never the GPU, and the kind auto runs is one devices marks as selected.
    assert_ne!(first["auto"], "wgpu");
    let selected: Vec<_> = first["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["selectedByAuto"] == true)
        .collect();
    assert_eq!(selected.len(), 1);
    assert_eq!(selected[0]["name"], first["auto"]);

    // A corrupt cache: a warning, a new measurement, the file repaired.
    let file = cache.join(ixi_miner::autotune::CACHE_FILE);
    std::fs::write(&file, "{ not json").unwrap();
    let out = miner()
        .env("IXI_MINER_CACHE_DIR", &cache)
        .args(["devices"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ignoring the CPU backend cache"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--backend auto runs "), "{stdout}");
    assert!(stdout.contains("measured now: "), "{stdout}");
    let repaired: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(
        repaired.as_object().is_some_and(|m| m.len() == 1),
        "{repaired}"
    );
}

#[test]
fn devices_json_lists_backends_and_features() {
    let out = run(&["devices", "--json"]);
    assert!(out.status.success());
    let d = &json_lines(&out)[0];
    let backends = d["backends"].as_array().unwrap();
    assert!(
        backends
            .iter()
            .any(|b| b["name"] == "soft" && b["available"] == true)
    );
    assert!(d["cpuFeatures"]["avx2"].is_boolean());
    assert!(d["auto"].is_string());
}

#[test]
fn every_subcommand_has_help() {
    for sub in ["hash", "mine", "bench", "devices"] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
    }
}

use ixi_test_support::worker_cli as connect_support;

#[tokio::test]
async fn connect_mines_for_a_link_until_a_solution_is_accepted() {
    let reached = connect_support::connect_until(BINARY, "miner", mining_chain(), |s| {
        s.solutions_accepted >= 1
    })
    .await;
    assert!(reached.stats.best_difficulty.unwrap() >= IxiNumber::from_whole(1_000_000));
}

#[test]
fn connect_without_an_identity_says_what_to_do() {
    let dir = temp_dir("miner-none");
    let out = run(&[
        "connect",
        "--data-dir",
        dir.to_str().unwrap(),
        "--link",
        "127.0.0.1:9",
        "--link-pin",
        &"00".repeat(32),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no identity") && err.contains("init"), "{err}");
    let out = run(&[
        "connect",
        "--data-dir",
        "x",
        "--link",
        "h:1",
        "--link-pin",
        "zz",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--link-pin"));
}

#[test]
fn numeric_flags_out_of_range_are_refused_without_a_panic() {
    let mine = format!(
        "mine --challenge {} --min-difficulty 10000000",
        "00".repeat(100)
    );
    assert_refused(
        miner,
        &mine,
        "
        --threads 100000 => 1 to 1024
        --threads 4294967296 => 1 to 1024
        --threads 0 => 1 to 1024
        --seconds 1e300 => 0 to 1e9
        --seconds 18446744073709551616 => 0 to 1e9
        --seconds=-1 => 0 to 1e9
        --nonce-len 65 => 2 to 64
        ",
    );
    assert_refused(
        miner,
        "bench",
        "
        --threads 100000 => must be 1 to 1024
        --seconds 0 => more than 0 and at most 3600 seconds
        --rounds 0 => 0 is not in 1..=100
        --prefix-len 0 => a prefix length is 1 to 1024 bytes
        ",
    );
}

#[test]
fn hash_bounds_a_line_and_quotes_little_of_it() {
    let v = reference_vectors();
    let case = &v["pow"][0];
    let good = json!({
        "blockNum": case["blockNum"],
        "blockHash": case["blockHash"],
        "recipientAddress": case["recipientAddress"],
        "signingPubKey": case["signingPubKey"],
        "solution": case["solution"],
    })
    .to_string();
    let huge = format!("{{\"blockNum\":\"{}\"}}", "7".repeat(2 << 20));
    let digits = format!(
        "{{\"blockNum\":\"{}\",\"blockHash\":\"\",\"recipientAddress\":\"\",\"signingPubKey\":\"\",\"solution\":\"00\"}}",
        "9".repeat(50_000)
    );
    let answers = json_answers(miner(), &["hash"], &format!("{huge}\n{digits}\n{good}\n"));
    assert_eq!(answers.len(), 3);
    let too_long = answers[0]["error"].as_str().unwrap();
    assert!(too_long.contains("longer than"), "{too_long}");
    let quoted = answers[1]["error"].as_str().unwrap();
    assert!(
        quoted.contains("blockNum") && quoted.len() < 300,
        "{quoted}"
    );
    assert_eq!(answers[2]["hash"], case["hash"]);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_notifies_the_service_manager_and_stops_cleanly_on_sigterm() {
    use std::os::unix::net::UnixDatagram;
    use std::time::{Duration, Instant};

    use ixi_simnode::SimConfig;
    use ixi_test_support::process;

    let binary = BINARY;
    let dir = temp_dir("miner-service");
    let pin = connect_support::init(binary, &dir);
    let chain = SimConfig {
        min_difficulty: IxiNumber::from_whole(100_000),
        block_signatures: 0,
        transactions: 0,
        ..SimConfig::default()
    };
    let (link_id, link, node) = connect_support::link_for(pin, chain).await;
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let addr = link.local_addr().unwrap().to_string();
    let mut child = connect_support::spawn_connect(
        binary,
        &dir,
        &addr,
        link_id.pin(),
        &[],
        &[("NOTIFY_SOCKET", socket_path.to_str().unwrap())],
    );
    // Reads notifications until one holds `want`.
    let wait_for = move |socket: UnixDatagram, want: &'static str| {
        tokio::task::spawn_blocking(move || {
            let mut buf = [0u8; 4096];
            loop {
                let n = socket.recv(&mut buf).expect("a notification in time");
                if String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .any(|l| l == want)
                {
                    return socket;
                }
            }
        })
    };
    let socket = wait_for(socket, "READY=1").await.unwrap();
    process::sigterm(&child.0);
    let asked = Instant::now();
    wait_for(socket, "STOPPING=1").await.unwrap();
    let status = tokio::task::block_in_place(|| {
        process::wait_exit(
            &mut child.0,
            Duration::from_secs(10).saturating_sub(asked.elapsed()),
        )
    });
    assert!(status.success(), "{status}");
    link.shutdown().await;
    node.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn settings_come_from_flag_then_environment_then_file_then_default() {
    let dir = temp_dir("miner-config");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ixi-miner.toml");
    std::fs::write(
        &file,
        "[bench]\nthreads = 2\nseconds = 0.2\nrounds = 1\nno-openssl = true\n",
    )
    .unwrap();
    let threads = |env: Option<&str>, flag: Option<&str>| {
        let mut cmd = miner();
        cmd.args(["bench", "--json", "--config", file.to_str().unwrap()]);
        if let Some(t) = flag {
            cmd.args(["--threads", t]);
        }
        if let Some(t) = env {
            cmd.env("IXI_MINER_BENCH_THREADS", t);
        }
        let out = cmd.output().unwrap();
        assert_success(&out);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["threads"].as_u64().unwrap()
    };
    assert_eq!(threads(None, None), 2, "file over default");
    assert_eq!(threads(Some("1"), None), 1, "environment over file");
    assert_eq!(threads(Some("1"), Some("2")), 2, "flag over environment");

    // Every mistake of a file, with its line; exit 2.
    std::fs::write(
        &file,
        "[bench]\nthreads = 0\ncolour = 1\n\n[serve]\nlisten = 1\n",
    )
    .unwrap();
    let out = run(&["config", "check", "--config", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let at = |line: usize| format!("{}:{line}:", file.display());
    assert!(err.contains(&format!("{} threads", at(2))), "{err}");
    assert!(
        err.contains(&format!("{} unknown key `colour`", at(3))),
        "{err}"
    );
    assert!(
        err.contains(&format!("{} unknown table [serve]", at(5))),
        "{err}"
    );

    // init writes a commented example beside the identity, which checks as the defaults.
    let out = run(&["init", "--data-dir", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let example = dir.join("ixi-miner.toml");
    std::fs::remove_file(&example).unwrap();
    let out = run(&["init", "--data-dir", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let out = run(&["config", "check", "--config", example.to_str().unwrap()]);
    assert_success(&out);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("[connect]") && shown.contains("nonce-len = 32"),
        "{shown}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
