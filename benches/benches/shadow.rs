//! Shadow verification's cost, beside the verification engine alone in the same run:
//! - a 1000-signature block (1000 PoW checks and 1000 RSA-2048 verifications) from the fetch
//!   over HTTP (`getfullblock` from a stand-in node on loopback) to its verdicts, verified on
//!   one thread with the best engine here: first seen (every PoW recomputed), and with its
//!   solutions seen in an earlier block (signers reuse a solution for up to 30 blocks);
//! - the baseline: the same 1000 RSA items through the engine alone (what `ixi-verifier
//!   verify` does once its lines are parsed).
//!
//! The stand-in serves the block's JSON serialized once (the node's writing is not measured).
//! Each signature has a PoW solution of its own; they come from two signer keys (generating a
//! thousand RSA keys would take minutes), so key parsing is cached in both measurements.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput};
use ixi_formats::number::IxiNumber;
use ixi_link_audit::runner::verify_local;
use ixi_link_audit::{Auditor, RetryPolicy, Rules};
use ixi_node_api::{ClientConfig, NodeClient};
use ixi_test_support::chain::{Shape, TestChain};
use ixi_test_support::node::{Answer, NodeStandIn};
use ixi_verifier::KeyCache;
use ixi_verifier::backend::{self, BackendChoice};

pub(crate) fn block_1000(c: &mut Criterion) {
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    else {
        return;
    };
    let floor = IxiNumber::from_whole(1000);
    let chain = TestChain::build(
        10,
        2,
        Shape {
            signatures: 1000,
            transactions: 0,
            distinct_solutions: true,
        },
        &floor,
    );
    // The block's answer serialized once: the node's own JSON writing is not ours to measure.
    let body = chain.blocks[&11].to_string();
    let node = runtime.block_on(NodeStandIn::start(chain));
    if let Ok(mut state) = node.state.lock() {
        state.answers.insert(11, Answer::RawResult(body));
    }
    let Ok(client) = NodeClient::new(&ClientConfig::new(&node.url)) else {
        return;
    };
    let rules = Rules { floor };
    let auditor = Auditor::new(client.clone(), rules.clone(), RetryPolicy::default());
    let features = ixi_kernels::cpu::CpuFeatures::detect();
    let Ok(kind) = BackendChoice::Auto.resolve(&features) else {
        return;
    };
    let Ok(engine) = backend::create(kind, &features, 1) else {
        return;
    };
    let cache = KeyCache::default();
    let Ok(prepared) = runtime.block_on(auditor.prepare(11)) else {
        return;
    };
    assert_eq!(prepared.rsa.len(), 1000);
    assert!(prepared.findings.is_empty());

    let mut group = c.benchmark_group("shadow");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1000));
    group.bench_function(
        format!(
            "1000-signature block first seen (empty caches): fetch, PoW checks, {kind} x1 verdicts"
        ),
        |b| {
            b.iter(|| {
                let fresh = Auditor::new(client.clone(), rules.clone(), RetryPolicy::default());
                let prepared = runtime.block_on(fresh.prepare(11));
                let work = prepared.map(|p| p.rsa).unwrap_or_default();
                verify_local(black_box(&work), &cache, engine.as_ref())
            });
        },
    );
    group.bench_function(
        format!(
            "1000-signature block, solutions seen before: fetch, PoW checks, {kind} x1 verdicts"
        ),
        |b| {
            b.iter(|| {
                let prepared = runtime.block_on(auditor.prepare(11));
                let work = prepared.map(|p| p.rsa).unwrap_or_default();
                verify_local(black_box(&work), &cache, engine.as_ref())
            });
        },
    );
    group.bench_function("of which: fetch, parse and PoW checks", |b| {
        b.iter(|| runtime.block_on(auditor.prepare(11)).map(|p| p.rsa.len()));
    });
    let work = Arc::new(prepared.rsa);
    group.bench_function(
        format!("baseline: the same 1000 items, {kind} x1 alone"),
        |b| {
            b.iter(|| verify_local(black_box(&work), &cache, engine.as_ref()));
        },
    );
    group.finish();
}
