//! The `ixi-link` command as operators' scripts use it.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ixi_formats::number::IxiNumber;
use ixi_link_proto::{Message, Role};
use ixi_link_transport::Identity;
use ixi_link_worker::client::{LinkUpdate, WorkerOptions, spawn_worker};
use ixi_test_support::cli::{assert_refused, assert_success, stderr};
use ixi_test_support::process::{self, Killed, temp_dir};
use serde_json::Value;

use super::{BINARY, free_udp_addr, init_json, link, serve_simulated};

fn run(args: &[&str]) -> Output {
    link().args(args).output().unwrap()
}

#[test]
fn devnet_mines_and_verifies_with_every_verdict_right() {
    let _heavy = process::heavy();
    let summary = temp_dir("devnet").with_extension("json");
    let out = link()
        .args(["devnet", "--seconds", "20", "--block-seconds", "1"])
        .args(["--min-difficulty", "1000000", "--block-signatures", "24"])
        .args(["--transactions", "4", "--corrupt-percent", "20"])
        .args(["--signers", "2"])
        .args(["--summary-json", summary.to_str().unwrap()])
        .output()
        .unwrap();
    assert_success(&out);
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    for field in [
        "blocks",
        "solutionsAccepted",
        "solutionsRejected",
        "bestDifficulty",
        "signaturesVerified",
        "verdictMismatches",
        "findings",
        "blocksAudited",
    ] {
        assert!(s.get(field).is_some(), "{field} missing in {s}");
    }
    assert!(s["blocksAudited"].as_u64().unwrap() >= 4, "{s}");
    // Findings are exactly the simulated node's corruptions in the audited blocks.
    assert_eq!(s["findings"], s["corruptedItemsAudited"], "{s}");
    assert!(s["blocks"].as_u64().unwrap() >= 10, "{s}");
    assert!(s["solutionsAccepted"].as_u64().unwrap() >= 1, "{s}");
    let best: IxiNumber = s["bestDifficulty"].as_str().unwrap().parse().unwrap();
    assert!(best >= IxiNumber::from_whole(1_000_000), "{s}");
    assert!(s["signaturesVerified"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(s["verdictMismatches"].as_u64(), Some(0), "{s}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("devnet summary"), "{text}");
    std::fs::remove_file(&summary).unwrap();
}

#[test]
fn identities_and_authorizations() {
    let dir = temp_dir("init");
    let first = init_json(&dir);
    let pin = first["pin"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 64);
    assert_eq!(first["created"], Value::Bool(true));
    let again = init_json(&dir);
    assert_eq!(again["pin"].as_str(), Some(pin.as_str()));
    assert_eq!(again["created"], Value::Bool(false));

    let d = dir.to_str().unwrap();
    let worker = Identity::generate("w").unwrap().pin().to_string();
    let out = run(&["authorize", "--data-dir", d, "--pin", &worker]);
    assert_success(&out);
    let authorized = std::fs::read_to_string(dir.join("authorized.txt")).unwrap();
    assert!(authorized.contains(&worker));

    let out = run(&["authorize", "--data-dir", d, "--pin", "abc"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--pin"), "{}", stderr(&out));
    let missing = temp_dir("missing");
    let m = missing.to_str().unwrap();
    for args in [
        vec!["authorize", "--data-dir", m, "--pin", &worker],
        vec![
            "serve",
            "--data-dir",
            m,
            "--listen",
            "127.0.0.1:0",
            "--simulate",
        ],
    ] {
        let out = run(&args);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("no link identity"),
            "{}",
            stderr(&out)
        );
    }
    let out = run(&["serve", "--data-dir", d, "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success(), "serve needs --node or --simulate");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn serve_simulate_serves_an_authorized_worker() {
    let dir = temp_dir("serve");
    let link_pin = init_json(&dir)["pin"].as_str().unwrap().to_owned();
    let worker = Identity::generate("w").unwrap();
    let out = run(&[
        "authorize",
        "--data-dir",
        dir.to_str().unwrap(),
        "--pin",
        &worker.pin().to_string(),
    ]);
    assert_success(&out);
    let addr = free_udp_addr();
    let mut child = Killed(
        serve_simulated(&dir, &addr)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Wait for it to listen.
    let mut lines = BufReader::new(child.0.stderr.take().unwrap()).lines();
    let line = process::line_containing(&mut lines, "listening on", Duration::from_secs(30));
    assert!(line.contains(&link_pin), "{line}");
    std::thread::spawn(move || for _ in lines {});

    let mut handle = spawn_worker(
        worker,
        WorkerOptions::new(addr, link_pin.parse().unwrap(), Role::Miner, "t".into()),
    );
    let job = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match handle.recv().await.unwrap() {
                LinkUpdate::Received(Message::Job(job)) => {
                    return (job.block_height, job.challenge_prefix);
                }
                LinkUpdate::Disconnected { reason, .. } => panic!("disconnected: {reason}"),
                _ => {}
            }
        }
    })
    .await
    .expect("a job from ixi-link serve");
    assert!(job.0 > 0);
    assert!(job.1.len() > 64);
    handle.shutdown().await;
    drop(child);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `ixi-link` under `umask 000` (through the shell, so the test's own umask is untouched).
#[cfg(unix)]
fn run_with_open_umask(args: &[&str]) -> Output {
    let script = format!(
        "umask 000; exec \"$0\" {}",
        args.iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    Command::new("sh")
        .args(["-c", &script, BINARY])
        .output()
        .unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn data_directories_are_private_whatever_the_umask_and_links_are_never_followed() {
    let dir = temp_dir("private");
    let d = dir.to_str().unwrap();
    let out = run_with_open_umask(&["init", "--data-dir", d, "--json"]);
    assert_success(&out);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("identity.key")), 0o600);
    assert_eq!(mode(&dir.join("identity.crt")), 0o600);
    let pin = Identity::generate("w").unwrap().pin().to_string();
    let out = run_with_open_umask(&["authorize", "--data-dir", d, "--pin", &pin]);
    assert_success(&out);
    assert_eq!(mode(&dir.join("authorized.txt")), 0o600);

    // Loosened by someone: tightened again on the next use, with a warning.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        dir.join("authorized.txt"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let out = run(&["authorize", "--data-dir", d, "--pin", &pin]);
    assert_success(&out);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("authorized.txt")), 0o600);
    assert!(stderr(&out).contains("tightened"), "{}", stderr(&out));

    // A dangling identity.key link: init refuses, and writes nothing at its target.
    let trap = temp_dir("private-trap");
    let target = temp_dir("private-target");
    std::fs::create_dir_all(&trap).unwrap();
    std::os::unix::fs::symlink(&target, trap.join("identity.key")).unwrap();
    let out = run(&["init", "--data-dir", trap.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert!(!target.exists(), "the key was written through the link");
    // A data directory that is itself a link is refused too.
    let linked = temp_dir("private-linked");
    std::os::unix::fs::symlink(&dir, &linked).unwrap();
    let out = run(&["init", "--data-dir", linked.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));

    for d in [&dir, &trap, &linked] {
        let _ = std::fs::remove_file(d);
        let _ = std::fs::remove_dir_all(d);
    }
}

/// `ixi-link audit` against the section-9 stand-in, its `--json` output read field by field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_json_reports_findings_field_by_field_and_exits_by_outcome() {
    use ixi_test_support::chain::{Shape, TestChain};
    use ixi_test_support::node::{Answer, NodeStandIn};

    let floor = IxiNumber::from_whole(1000);
    let mut chain = TestChain::build(50, 6, Shape::new(3, 3), &floor);
    chain.break_block_signature(51, 2);
    chain.break_pow_difficulty(52, 0);
    chain.break_total(53);
    chain.break_transaction_signature(54, 1);
    let node = NodeStandIn::start(chain).await;
    node.state
        .lock()
        .unwrap()
        .answers
        .insert(56, Answer::Error("Block not found.".into()));
    let url = node.url.clone();
    let audit = move |args: &[&str]| {
        let url = url.clone();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            link()
                .args([
                    "audit",
                    "--node",
                    &url,
                    "--signer-floor",
                    "1000",
                    "--threads",
                    "1",
                ])
                .args(&args)
                .output()
                .unwrap()
        })
    };
    let log = temp_dir("audit-log").with_extension("jsonl");
    let out = audit(&[
        "--from",
        "50",
        "--to",
        "55",
        "--json",
        "--audit-log",
        log.to_str().unwrap(),
    ])
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, findings) = lines.split_last().unwrap();
    let mut seen = Vec::new();
    for f in findings {
        let o = f.as_object().unwrap();
        let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["block", "id", "index", "kind", "nodeConfirms", "reason"],
            "{f}"
        );
        let block = f["block"].as_u64().unwrap();
        let kind = f["kind"].as_str().unwrap().to_owned();
        let index = f["index"].as_u64();
        assert!(f["index"].is_null() == (kind == "blockTotal"), "{f}");
        assert!(f["id"].is_string() && f["reason"].as_str().is_some_and(|r| !r.is_empty()));
        let confirms = f["nodeConfirms"].as_bool();
        assert!(f["nodeConfirms"].is_boolean() || f["nodeConfirms"].is_null());
        seen.push((block, kind, index, confirms));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            (51, "blockSignature".to_owned(), Some(2), Some(true)),
            (52, "powSolution".to_owned(), Some(0), None),
            (53, "blockTotal".to_owned(), None, None),
            (54, "transaction".to_owned(), Some(1), Some(true)),
        ]
    );
    let s = &summary["summary"];
    assert_eq!(s["blocks"], 6);
    assert_eq!(s["blockSignatures"], 15);
    assert_eq!(s["powSolutions"], 15);
    assert_eq!(s["transactions"], 18);
    assert_eq!(s["skipped"], 6);
    assert_eq!(s["findings"], 4);
    assert!(s["seconds"].as_f64().unwrap() >= 0.0);
    // The audit log holds the same lines.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 4);
    std::fs::remove_file(&log).unwrap();

    // A clean range: exit 0. A missing block: exit 2 naming it. Bad arguments: exit 2.
    let clean = audit(&["--from", "55", "--to", "55"]).await.unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    let missing = audit(&["--from", "55", "--to", "56"]).await.unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("block 56"),
        "{}",
        stderr(&missing)
    );
    let backwards = audit(&["--from", "9", "--to", "1"]).await.unwrap();
    assert_eq!(backwards.status.code(), Some(2));
}

#[test]
fn numeric_flags_out_of_range_are_refused_without_a_panic() {
    assert_refused(
        link,
        "devnet",
        "
        --seconds 1e300 => must be 0 to 1e9
        --miner-threads 100000 => must be 1 to 1024
        --verifier-threads 0 => must be 1 to 1024
        --block-seconds 0.01 => must be 0.1 to 86400
        --block-signatures 1001 => must be 0 to 1000
        ",
    );
    let audit = "audit --node http://127.0.0.1:1 --from 1 --to 2";
    assert_refused(link, audit, "--threads 4294967296 => must be 1 to 1024");
    let simnode = "simnode --listen 127.0.0.1:0";
    assert_refused(link, simnode, "--seconds=-5 => must be 0 to 1e9");
}

#[test]
fn the_node_password_never_needs_a_command_line() {
    let dir = temp_dir("password");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("password");
    std::fs::write(&file, "hunter2\n").unwrap();
    // From a file, and from the environment: a node that is not there is the only error left.
    for (args, env) in [
        (
            vec![
                "--api-user",
                "u",
                "--api-password-file",
                file.to_str().unwrap(),
            ],
            None,
        ),
        (vec!["--api-user", "u"], Some("hunter2")),
    ] {
        let mut cmd = link();
        cmd.args([
            "audit",
            "--node",
            "http://127.0.0.1:9",
            "--from",
            "1",
            "--to",
            "1",
        ]);
        cmd.args(&args);
        if let Some(p) = env {
            cmd.env("IXI_LINK_API_PASSWORD", p);
        }
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn simnode_writes_its_ledger_when_stopped_by_sigterm() {
    let ledger = temp_dir("simnode-ledger").with_extension("jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // No block signatures (no signer PoW to mine first); every transaction corrupted.
    let mut node = Killed(
        link()
            .args(["simnode", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--block-seconds", "0.2", "--block-signatures", "0"])
            .args(["--transactions", "1", "--corrupt-percent", "100"])
            .args(["--ledger", ledger.to_str().unwrap()])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(node.0.stderr.take().unwrap()).lines();
    process::line_containing(&mut lines, "chain ready", Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(600));
    let status = process::terminate(&mut node.0, Duration::from_secs(10));
    assert!(status.success(), "simnode on SIGTERM: {status}");
    let text = std::fs::read_to_string(&ledger).expect("no ledger written on SIGTERM");
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        entries.iter().any(|e| e["kind"] == "transaction"),
        "no corrupted transaction in the ledger: {text}"
    );
    let _ = std::fs::remove_file(&ledger);
}
