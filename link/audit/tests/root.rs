//! The audit against an HTTP stand-in of the node built from section 9 (not the project's own
//! simulated node): every finding kind, the double-encoded strings, the bad inputs a node can
//! give, and a block at the real 10^7 floor.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    missing_docs
)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ixi_formats::number::IxiNumber;
use ixi_link_audit::runner::{self, AuditRange, Summary};
use ixi_link_audit::{AuditError, Auditor, Finding, FindingKind, RetryPolicy, Rules};
use ixi_node_api::{ApiError, Block, ClientConfig, HttpError, NodeClient};
use ixi_test_support::chain::{Shape, TestChain};
use ixi_test_support::node::{Answer, NodeStandIn};
use ixi_verifier::backend::{self, BackendKind, VerifyBackend};
use serde_json::json;

fn floor() -> IxiNumber {
    IxiNumber::from_whole(1000)
}

fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        initial: Duration::from_millis(20),
        max: Duration::from_millis(50),
    }
}

fn auditor(url: &str, rules: Rules, retry: RetryPolicy) -> Arc<Auditor> {
    let mut config = ClientConfig::new(url);
    config.timeout = Duration::from_secs(10);
    Arc::new(Auditor::new(
        NodeClient::new(&config).unwrap(),
        rules,
        retry,
    ))
}

fn scalar() -> Arc<dyn VerifyBackend> {
    backend::create(
        BackendKind::Scalar,
        &ixi_kernels::cpu::CpuFeatures::detect(),
        1,
    )
    .unwrap()
    .into()
}

async fn audit(
    node: &NodeStandIn,
    rules: Rules,
    retry: RetryPolicy,
    from: u64,
    to: u64,
) -> (Result<Summary, AuditError>, Vec<Finding>) {
    let mut findings = Vec::new();
    let range = AuditRange {
        from,
        to,
        resume_file: None,
    };
    let result = runner::run(
        auditor(&node.url, rules, retry),
        scalar(),
        &range,
        |f| {
            findings.push(f.clone());
            Ok(())
        },
        |_| {},
    )
    .await;
    (result, findings)
}

fn shape() -> Shape {
    Shape {
        signatures: 4,
        transactions: 4,
        distinct_solutions: false,
    }
}

#[tokio::test]
async fn every_finding_kind_is_reported_and_nothing_else() {
    let mut chain = TestChain::build(200, 9, shape(), &floor());
    chain.break_block_signature(202, 1);
    // Signer 0's solution was recomputed (and cached) in block 201 already: the claimed
    // difficulty is still compared block by block.
    chain.break_pow_difficulty(203, 2);
    chain.break_pow_window(203, 3);
    chain.break_total(204);
    chain.break_transaction_signature(205, 1);
    chain.break_transaction_sender(205, 2);
    // A signing key that is not in the Ixian layout (the PoW, bound to the key, fails too).
    chain.edit_list(206, "Signatures", |l| {
        l[0]["powSolution"]["signingPubKey"] = json!("AAECAwQ=");
    });
    let node = NodeStandIn::start(chain).await;
    let (summary, findings) = audit(&node, Rules { floor: floor() }, quick_retry(), 200, 208).await;
    let summary = summary.unwrap();
    let got: BTreeSet<_> = findings
        .iter()
        .map(|f| (f.block, f.kind, f.index, f.node_confirms))
        .collect();
    let expected: BTreeSet<_> = [
        (202, FindingKind::BlockSignature, Some(1), Some(true)),
        (203, FindingKind::PowSolution, Some(2), None),
        (203, FindingKind::PowSolution, Some(3), None),
        (204, FindingKind::BlockTotal, None, None),
        (205, FindingKind::Transaction, Some(1), Some(true)),
        (205, FindingKind::Transaction, Some(2), Some(true)),
        (206, FindingKind::BlockSignature, Some(0), None),
        (206, FindingKind::PowSolution, Some(0), None),
    ]
    .into_iter()
    .collect();
    assert_eq!(got, expected, "{findings:#?}");
    // Ids: the signer's address, the transaction id, empty for a total.
    for f in &findings {
        match f.kind {
            FindingKind::BlockTotal => assert!(f.id.is_empty()),
            FindingKind::Transaction => assert!(f.id.starts_with(&format!("{}-", f.block))),
            _ => assert!(ixi_formats::address::Address::from_base58(&f.id).is_ok()),
        }
        assert!(!f.reason.is_empty());
    }
    let window = findings.iter().find(|f| f.index == Some(3)).unwrap();
    assert!(
        window.reason.contains("outside the window"),
        "{}",
        window.reason
    );
    assert_eq!(summary.blocks, 9);
    assert_eq!(summary.counts.block_signatures, 32);
    assert_eq!(summary.counts.pow_solutions, 32);
    assert_eq!(summary.counts.transactions, 36);
    assert_eq!(summary.counts.skipped, 9);
    assert_eq!(summary.findings, 8);
    // Nothing fetched twice: each block once in full, the PoW block (200, audited first) never
    // again, each wallet once.
    let full = node.calls_of("getfullblock");
    assert_eq!(full.len(), 9, "{full:?}");
    assert!(node.calls_of("getblock").is_empty());
    assert_eq!(node.calls_of("getwallet").len(), 2);
}

#[tokio::test]
async fn pow_blocks_before_the_range_are_fetched_once() {
    let node = NodeStandIn::start(TestChain::build(300, 6, shape(), &floor())).await;
    let (summary, findings) = audit(&node, Rules { floor: floor() }, quick_retry(), 302, 305).await;
    assert_eq!(summary.unwrap().findings, 0, "{findings:?}");
    assert_eq!(node.calls_of("getblock"), ["getblock?num=300"]);
}

#[tokio::test]
async fn below_the_minimum_is_a_finding() {
    // Mined at 1000: under a floor of 10^7 every PoW is below the block's minimum.
    let node = NodeStandIn::start(TestChain::build(400, 2, shape(), &floor())).await;
    let (summary, findings) = audit(&node, Rules::default(), quick_retry(), 401, 401).await;
    assert_eq!(summary.unwrap().findings, 4);
    assert!(
        findings.iter().all(|f| f.kind == FindingKind::PowSolution
            && f.reason.contains("below the block's minimum"))
    );
}

#[tokio::test]
async fn a_block_at_the_consensus_floor_passes() {
    // Real solutions at 10^7, found with the ixi-miner engine (re-checked on the plain path
    // by the audit itself).
    let features = ixi_miner::backend::CpuFeatures::detect();
    let kind = ixi_miner::backend::BackendChoice::Auto
        .resolve(&features)
        .unwrap();
    let miner = ixi_miner::scheduler::Miner::start(
        ixi_miner::scheduler::MinerConfig {
            backend: kind,
            threads: 1,
            batch: None,
        },
        &features,
    )
    .unwrap();
    let job_id = std::sync::atomic::AtomicU64::new(0);
    let mine = |prefix: &[u8], min: &IxiNumber, _seed: u64| {
        let id = job_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let job = ixi_miner::job::Job::new(
            id,
            prefix.to_vec(),
            min.clone(),
            &ixi_miner::job::NonceConfig::default(),
        )
        .unwrap();
        miner.set_job(job);
        loop {
            if let ixi_miner::scheduler::MinerEvent::Solution(s) = miner.events().recv().unwrap()
                && s.job_id == id
            {
                miner.clear_job();
                return (s.nonce, s.hash, s.difficulty);
            }
        }
    };
    let chain = TestChain::build_with(
        500,
        2,
        Shape {
            signatures: 2,
            transactions: 0,
            distinct_solutions: false,
        },
        &IxiNumber::from_whole(10_000_000),
        &mine,
    );
    miner.stop();
    let node = NodeStandIn::start(chain).await;
    let (summary, findings) = audit(&node, Rules::default(), quick_retry(), 500, 501).await;
    assert_eq!(summary.unwrap().findings, 0, "{findings:?}");
}

#[test]
fn double_encoded_lists_and_numbers_as_strings_parse_like_plain_ones() {
    let chain = TestChain::build(600, 2, shape(), &floor());
    let encoded = chain.blocks[&601].clone();
    let mut plain = encoded.clone();
    for field in ["Signatures", "Transactions"] {
        plain[field] = serde_json::from_str(encoded[field].as_str().unwrap()).unwrap();
    }
    plain["Block Number"] = json!(601);
    plain["Version"] = json!(12);
    let a = Block::from_json(&encoded).unwrap();
    let b = Block::from_json(&plain).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.signatures.len(), 4);
    assert_eq!(a.transactions.as_ref().unwrap().len(), 5);
    // "Frozen Signatures" wins over "Signatures".
    let mut frozen = encoded.clone();
    frozen["Frozen Signatures"] = json!("[]");
    assert!(Block::from_json(&frozen).unwrap().signatures.is_empty());
}

async fn bad_block(answer: Answer) -> AuditError {
    let node = NodeStandIn::start(TestChain::build(700, 3, shape(), &floor())).await;
    node.state.lock().unwrap().answers.insert(701, answer);
    let (result, findings) = audit(&node, Rules { floor: floor() }, quick_retry(), 700, 702).await;
    assert!(findings.is_empty());
    result.unwrap_err()
}

fn raw_block(edit: impl FnOnce(&mut serde_json::Value)) -> Answer {
    let mut b = TestChain::build(700, 3, shape(), &floor()).blocks[&701].clone();
    edit(&mut b);
    Answer::RawResult(b.to_string())
}

#[tokio::test]
async fn bad_answers_are_errors_naming_the_block_and_the_field() {
    let cases: Vec<(Answer, &str)> = vec![
        (
            raw_block(|b| {
                b.as_object_mut().unwrap().remove("Block Checksum");
            }),
            "Block Checksum",
        ),
        (raw_block(|b| b["Version"] = json!(true)), "Version"),
        (
            raw_block(|b| b["Signatures"] = json!("[{\"blockNum\": 1,")),
            "Signatures",
        ),
        (
            raw_block(|b| {
                let mut l: Vec<serde_json::Value> =
                    serde_json::from_str(b["Signatures"].as_str().unwrap()).unwrap();
                l[2]["powSolution"]["difficulty"] = json!([1]);
                b["Signatures"] = json!(serde_json::Value::Array(l).to_string());
            }),
            "Signatures[2].powSolution.difficulty",
        ),
        (
            raw_block(|b| {
                b.as_object_mut().unwrap().remove("Total Signer Difficulty");
            }),
            "Total Signer Difficulty",
        ),
        (Answer::RawResult("[1, 2]".into()), "not a JSON object"),
        (Answer::Error("Block not found.".into()), "Block not found."),
        (Answer::Error("Internal error".into()), "HTTP 500"),
    ];
    for (answer, field) in cases {
        let e = bad_block(answer).await;
        let text = e.to_string();
        assert!(
            text.contains("block 701") && text.contains(field),
            "{field}: {text}"
        );
    }
}

#[tokio::test]
async fn a_200_mb_body_is_refused_at_the_limit() {
    for with_length in [true, false] {
        let started = std::time::Instant::now();
        let e = bad_block(Answer::Huge { with_length }).await;
        assert!(
            matches!(
                &e,
                AuditError::Node {
                    block: 701,
                    source: ApiError::Http {
                        source: HttpError::TooLarge { .. },
                        ..
                    }
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("limit"), "{e}");
        // Refused, not retried.
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}

#[tokio::test]
async fn a_node_that_restarts_mid_audit_is_waited_for() {
    let node = Arc::new(NodeStandIn::start(TestChain::build(800, 6, shape(), &floor())).await);
    node.stop();
    let restarting = Arc::clone(&node);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(600)).await;
        restarting.restart().await;
    });
    let (summary, findings) = audit(
        &node,
        Rules { floor: floor() },
        RetryPolicy::default(),
        800,
        805,
    )
    .await;
    assert_eq!(summary.unwrap().blocks, 6);
    assert!(findings.is_empty());

    // Down for good: an error naming the block, after the retries.
    node.stop();
    let (result, _) = audit(&node, Rules { floor: floor() }, quick_retry(), 800, 801).await;
    let e = result.unwrap_err();
    assert!(e.to_string().contains("block 800"), "{e}");
}

#[tokio::test]
async fn the_node_cannot_confirm_then_node_confirms_is_null() {
    let mut chain = TestChain::build(900, 2, shape(), &floor());
    chain.break_block_signature(901, 0);
    let node = NodeStandIn::start(chain).await;
    node.state.lock().unwrap().verify_fails = true;
    let (summary, findings) = audit(&node, Rules { floor: floor() }, quick_retry(), 900, 901).await;
    assert_eq!(summary.unwrap().findings, 1);
    assert_eq!(findings[0].node_confirms, None);
    assert_eq!(
        findings[0].to_json()["nodeConfirms"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn multisig_keys_come_from_the_data_and_bind_to_an_allowed_signer() {
    let mut chain = TestChain::build(1000, 2, shape(), &floor());
    // Wallet 1 signs for wallet 0 (an allowed signer): valid.
    let allowed = chain.add_multisig(1001, 997, 0, 1, &[]);
    // The owner changes its own wallet: valid.
    let owner = chain.add_multisig(1001, 998, 0, 0, &[0]);
    // Wallet 1 signs for itself with a derived address (nonce 5): not wallet 0's signer.
    let derived = chain.add_multisig(1001, 997, 0, 1, &[5]);
    // Wallet 0 signs for wallet 1, which allows no other signer.
    let stranger = chain.add_multisig(1001, 999, 1, 0, &[]);
    let node = NodeStandIn::start(chain).await;
    let (summary, findings) =
        audit(&node, Rules { floor: floor() }, quick_retry(), 1001, 1001).await;
    let summary = summary.unwrap();
    let got: Vec<_> = findings.iter().map(|f| (f.kind, f.index)).collect();
    assert_eq!(
        got,
        [
            (FindingKind::Transaction, Some(derived)),
            (FindingKind::Transaction, Some(stranger)),
        ],
        "{findings:#?}"
    );
    assert!(findings.iter().all(|f| f.reason.contains("allowed signer")));
    assert!(allowed < owner);
    assert_eq!(summary.counts.transactions, 4 + 4);
}

#[tokio::test]
async fn a_resume_file_resumes_and_without_one_the_whole_range_is_done() {
    let node = NodeStandIn::start(TestChain::build(1100, 4, shape(), &floor())).await;
    let resume = std::env::temp_dir().join(format!("ixi-audit-resume-{}", std::process::id()));
    let _ = std::fs::remove_file(&resume);
    let run = |from, to, resume_file: Option<std::path::PathBuf>| {
        let auditor = auditor(&node.url, Rules { floor: floor() }, quick_retry());
        async move {
            runner::run(
                auditor,
                scalar(),
                &AuditRange {
                    from,
                    to,
                    resume_file,
                },
                |_| Ok(()),
                |_| {},
            )
            .await
            .unwrap()
        }
    };
    // Interrupted after 1101 (as if): the file says 1102.
    assert_eq!(run(1100, 1101, Some(resume.clone())).await.blocks, 2);
    assert_eq!(std::fs::read_to_string(&resume).unwrap().trim(), "1102");
    // The same range again with the file: resumes at 1102, two blocks left.
    assert_eq!(run(1100, 1103, Some(resume.clone())).await.blocks, 2);
    assert_eq!(run(1100, 1103, Some(resume.clone())).await.blocks, 0);
    // Without it: the whole range, every time.
    assert_eq!(run(1100, 1103, None).await.blocks, 4);
    assert_eq!(run(1100, 1103, None).await.blocks, 4);
    std::fs::remove_file(&resume).unwrap();
}
