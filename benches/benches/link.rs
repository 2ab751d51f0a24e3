//! The link's own costs, each beside a baseline in the same run:
//! - codec: a verification batch of 256 RSA-2048 items framed and decoded, against copying the
//!   same bytes;
//! - judging: the link's exact check of a submitted solution (double SHA3-512 plus the exact
//!   difficulty), against the double hash alone.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput};
use ixi_formats::number::IxiNumber;
use ixi_link_proto::codec::{decode, to_frame};
use ixi_link_proto::{Hello, Message, PROTOCOL_VERSION, Role, Solution, VerifyBatch, VerifyItem};
use ixi_link_server::core::{DispatchConfig, LinkCore, job_id_of};
use ixi_link_server::source::{Challenge, NodeState};

pub(crate) fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("link_codec");
    let batch = Message::VerifyBatch(VerifyBatch {
        batch_id: 1,
        items: (0..256u32)
            .map(|i| VerifyItem {
                key: vec![2; 272],
                message: i.to_le_bytes().repeat(16),
                signature: vec![3; 256],
            })
            .collect(),
    });
    let frame = to_frame(&batch);
    group.throughput(Throughput::Bytes(frame.len() as u64));
    group.bench_function("VerifyBatch 256 x RSA-2048: encode + decode", |b| {
        b.iter(|| {
            let frame = to_frame(black_box(&batch));
            let mut rest = &frame[..];
            decode(&mut rest)
        });
    });
    group.bench_function("baseline: copy the frame's bytes", |b| {
        b.iter(|| black_box(&frame).clone());
    });
    group.finish();
}

pub(crate) fn judging(c: &mut Criterion) {
    let mut group = c.benchmark_group("link_judge");
    let challenge = Challenge {
        block_height: 5_000_000,
        prefix: vec![0x42; 178],
        min_difficulty: IxiNumber::from_whole(10_000_000),
    };
    let job_id = job_id_of(&challenge);
    let mut core = LinkCore::new(DispatchConfig::default(), 0);
    core.node_state(NodeState::Mining(challenge.clone()));
    core.connected(1, [1; 32]);
    let hello = Hello {
        role: Role::Miner,
        protocol_version: PROTOCOL_VERSION,
        worker_name: "bench".into(),
        backends: vec![],
        measured_rate: 0.0,
    };
    core.hello(Instant::now(), 1, &hello);
    group.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    group.bench_function("exact check of a submitted nonce", |b| {
        b.iter(|| {
            n += 1;
            let mut nonce = [0u8; 32];
            nonce[..8].copy_from_slice(&n.to_le_bytes());
            core.solution(
                1,
                Solution {
                    job_id,
                    nonce: nonce.to_vec(),
                },
            )
        });
    });
    group.bench_function("baseline: sha3_512sq of prefix + nonce", |b| {
        b.iter(|| {
            n += 1;
            let mut nonce = [0u8; 32];
            nonce[..8].copy_from_slice(&n.to_le_bytes());
            ixi_formats::solution::hash_with_prefix(black_box(&challenge.prefix), &nonce)
        });
    });
    group.finish();
}
