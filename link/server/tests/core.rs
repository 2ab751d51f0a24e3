//! The sans-IO link core: solution judging and verification dispatch, with simulated time.

use std::time::{Duration, Instant};

use ixi_formats::number::IxiNumber;
use ixi_link_proto::{
    Hello, Idle, IdleReason, Job, Message, PROTOCOL_VERSION, RejectReason, Role, Solution,
    SolutionVerdict, Verdict, VerifyBatch, VerifyItem, VerifyResult, Welcome,
};
use ixi_link_server::core::{
    Action, DispatchConfig, LinkCore, LocalVerify, RECENT_BLOCKS, ResultError, job_id_of,
};
use ixi_link_server::source::{Challenge, ForwardOutcome, NodeState, VerifyWork};

use crate::support::find_solutions;

fn challenge(height: u64) -> Challenge {
    let mut prefix = vec![0x42; 178];
    prefix[..8].copy_from_slice(&height.to_le_bytes());
    Challenge {
        block_height: height,
        prefix,
        min_difficulty: IxiNumber::from_whole(100_000),
    }
}

fn hello(role: Role, measured_rate: f64) -> Hello {
    Hello {
        role,
        protocol_version: PROTOCOL_VERSION,
        worker_name: "w".into(),
        backends: vec![],
        measured_rate,
    }
}

fn solution(job_id: u64, nonce: Vec<u8>) -> Solution {
    Solution { job_id, nonce }
}

fn result(batch_id: u64, verdicts: &[bool]) -> VerifyResult {
    VerifyResult {
        batch_id,
        verdicts: verdicts.to_vec(),
    }
}

/// Never fails: the outcomes these tests give are taken or rejected.
type Outcome = ForwardOutcome<std::convert::Infallible>;

fn sent_to(actions: &[Action], conn: u64) -> Vec<&Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { conn: c, message } if *c == conn => Some(message),
            _ => None,
        })
        .collect()
}

fn verdicts(actions: &[Action], conn: u64) -> Vec<Verdict> {
    sent_to(actions, conn)
        .into_iter()
        .filter_map(|m| match m {
            Message::SolutionVerdict(v) => Some(v.verdict),
            _ => None,
        })
        .collect()
}

fn forwards(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Forward { .. }))
        .count()
}

/// A core mining `challenge(100)` with miners 1 (peer A) and 2 (peer B).
fn mining_core() -> (LinkCore, Challenge, u64) {
    let mut core = LinkCore::new(DispatchConfig::default(), 7);
    let c = challenge(100);
    core.node_state(NodeState::Mining(c.clone()));
    let now = Instant::now();
    for (conn, peer) in [(1, [1u8; 32]), (2, [2u8; 32])] {
        core.connected(conn, peer);
        let actions = core.hello(now, conn, &hello(Role::Miner, 1e6));
        let messages = sent_to(&actions, conn);
        assert!(matches!(messages[0], Message::Welcome(_)));
        assert!(
            matches!(
                messages[1],
                Message::Job(Job {
                    block_height: 100,
                    replace_now: true,
                    ..
                })
            ),
            "{messages:?}"
        );
    }
    let job_id = job_id_of(&c);
    (core, c, job_id)
}

#[test]
fn miners_get_distinct_prefixes_and_the_job() {
    let mut core = LinkCore::new(DispatchConfig::default(), u32::MAX);
    core.node_state(NodeState::Mining(challenge(5)));
    let mut prefixes = Vec::new();
    for conn in 1..=3 {
        core.connected(conn, [conn as u8; 32]);
        for m in sent_to(
            &core.hello(Instant::now(), conn, &hello(Role::Miner, 0.0)),
            conn,
        ) {
            if let Message::Welcome(Welcome { nonce_prefix, .. }) = m {
                prefixes.push(nonce_prefix.clone());
            }
        }
    }
    prefixes.sort();
    prefixes.dedup();
    assert_eq!(prefixes.len(), 3, "{prefixes:?}");
}

#[test]
fn solutions_are_judged_exactly_before_forwarding() {
    let (mut core, c, job_id) = mining_core();
    let mut found = find_solutions(&c.prefix, &c.min_difficulty, 3, 11);
    found.sort_by(|a, b| b.1.cmp(&a.1));
    let (best_nonce, best_d) = found[0].clone();

    // Wrong job, bad lengths, below the minimum.
    assert_eq!(
        verdicts(
            &core.solution(1, solution(job_id ^ 1, best_nonce.clone())),
            1
        ),
        [Verdict::Rejected(RejectReason::Stale)]
    );
    for len in [0, 1, 65] {
        assert_eq!(
            verdicts(&core.solution(1, solution(job_id, vec![7; len])), 1),
            [Verdict::Rejected(RejectReason::InvalidNonce)]
        );
    }
    let weak = (0u8..=255)
        .map(|b| vec![b; 32])
        .find(|n| {
            let h = ixi_formats::solution::hash_with_prefix(&c.prefix, n).unwrap();
            ixi_formats::difficulty::hash_to_difficulty(&h).unwrap() < c.min_difficulty
        })
        .unwrap();
    let a = core.solution(1, solution(job_id, weak));
    assert_eq!(
        verdicts(&a, 1),
        [Verdict::Rejected(RejectReason::BelowTarget)]
    );
    assert_eq!(forwards(&a), 0);

    // The best goes to the node; every miner now has to beat it.
    let a = core.solution(1, solution(job_id, best_nonce.clone()));
    assert_eq!(forwards(&a), 1);
    assert!(
        verdicts(&a, 1).is_empty(),
        "no verdict before the node answers"
    );
    for conn in [1, 2] {
        let raised = sent_to(&a, conn).into_iter().any(|m| {
            matches!(m, Message::Job(Job { best_difficulty_raw, replace_now: false, .. })
                if IxiNumber::from_le_bytes(best_difficulty_raw).unwrap() == best_d)
        });
        assert!(raised, "miner {conn} learns the new best");
    }
    // A worse one is not forwarded.
    let a = core.solution(2, solution(job_id, found[2].0.clone()));
    assert_eq!(
        verdicts(&a, 2),
        [Verdict::Rejected(RejectReason::NotBetter)]
    );

    // The node takes the best: the sender hears so, with the link's difficulty.
    let a = core.forward_outcome(100, &best_nonce, Outcome::Taken);
    let m = sent_to(&a, 1);
    assert!(
        matches!(m[..], [Message::SolutionVerdict(SolutionVerdict { verdict: Verdict::Accepted, difficulty_raw, .. })]
            if IxiNumber::from_le_bytes(difficulty_raw).unwrap() == best_d),
        "{m:?}"
    );
    // The same worker again (a resend after a drop) hears the same verdict; another worker
    // sending the same nonce is a duplicate.
    assert_eq!(
        verdicts(&core.solution(1, solution(job_id, best_nonce.clone())), 1),
        [Verdict::Accepted]
    );
    assert_eq!(
        verdicts(&core.solution(2, solution(job_id, best_nonce)), 2),
        [Verdict::Rejected(RejectReason::Duplicate)]
    );
    let s = core.stats();
    assert_eq!(s.solutions_accepted, 1);
    assert_eq!(s.best_difficulty, Some(best_d));
    // Stale, three bad lengths, below target, not better, duplicate.
    assert_eq!(s.solutions_rejected, 7);
}

#[test]
fn failed_forwards_are_retried_and_block_changes_answer_the_waiting() {
    let (mut core, c, job_id) = mining_core();
    let found = find_solutions(&c.prefix, &c.min_difficulty, 1, 99);
    let nonce = found[0].0.clone();
    assert_eq!(
        forwards(&core.solution(1, solution(job_id, nonce.clone()))),
        1
    );
    // The node could not be asked: nothing is answered, and the next good poll retries.
    assert!(
        core.forward_outcome(100, &nonce, ForwardOutcome::Failed(std::fmt::Error))
            .is_empty()
    );
    let unreachable = NodeState::Idle {
        reason: IdleReason::Unreachable,
        detail: "refused".into(),
    };
    let a = core.node_state(unreachable);
    assert!(matches!(
        sent_to(&a, 1)[..],
        [Message::Idle(Idle {
            reason: IdleReason::Unreachable,
            ..
        })]
    ));
    let a = core.node_state(NodeState::Mining(c.clone()));
    assert_eq!(forwards(&a), 1, "retried once the node answers");
    assert!(
        sent_to(&a, 2).iter().any(|m| matches!(
            m,
            Message::Job(Job {
                block_height: 100,
                ..
            })
        )),
        "miners get the job back after the node was unreachable"
    );
    // The block changes before the node answers: the miner hears it is stale.
    let a = core.node_state(NodeState::Mining(challenge(101)));
    assert_eq!(verdicts(&a, 1), [Verdict::Rejected(RejectReason::Stale)]);
    assert!(sent_to(&a, 2).iter().any(|m| matches!(
        m,
        Message::Job(Job {
            block_height: 101,
            replace_now: true,
            ..
        })
    )));
    assert_eq!(core.stats().blocks, 2);
    // And the old job's solutions are stale from now on.
    assert_eq!(
        verdicts(&core.solution(1, solution(job_id, nonce)), 1),
        [Verdict::Rejected(RejectReason::Stale)]
    );
}

fn work(n: usize) -> Vec<VerifyWork> {
    (0..n)
        .map(|i| VerifyWork {
            item: VerifyItem {
                key: vec![2; 272],
                message: (i as u64).to_le_bytes().to_vec(),
                signature: vec![3; 256],
            },
            ticket: i as u64,
        })
        .collect()
}

/// Every `(ticket, verdict)` handed back in `actions`.
/// A core with one verifier (connection 1) at `rate`, and the time it said Hello.
fn verifier_core(config: DispatchConfig, rate: f64) -> (LinkCore, Instant) {
    let mut core = LinkCore::new(config, 0);
    let t0 = Instant::now();
    core.connected(1, [1; 32]);
    core.hello(t0, 1, &hello(Role::Verifier, rate));
    (core, t0)
}

fn verified(actions: &[Action]) -> Vec<(u64, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Verified { results } => Some(results.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn batches(actions: &[Action]) -> Vec<(u64, u64, Vec<VerifyItem>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                conn,
                message: Message::VerifyBatch(VerifyBatch { batch_id, items }),
            } => Some((*conn, *batch_id, items.clone())),
            _ => None,
        })
        .collect()
}

fn truth(items: &[VerifyItem]) -> Vec<bool> {
    items
        .iter()
        .map(|i| !u64::from_le_bytes(i.message.clone().try_into().unwrap()).is_multiple_of(3))
        .collect()
}

#[test]
fn batches_follow_rates_and_a_dropped_verifier_loses_nothing() {
    let config = DispatchConfig {
        batch_time: Duration::from_millis(500),
        min_batch: 4,
        max_batch: 1000,
        in_flight: 2,
        min_deadline: Duration::from_secs(5),
        max_queued: 10_000,
        local: LocalVerify::Never,
    };
    let mut core = LinkCore::new(config, 0);
    let t0 = Instant::now();
    core.connected(1, [1; 32]);
    core.connected(2, [2; 32]);
    core.hello(t0, 1, &hello(Role::Verifier, 100.0));
    core.hello(t0, 2, &hello(Role::Verifier, 20.0));
    let a = core.add_verify_work(t0, work(200));
    let sent = batches(&a);
    // Two batches each; verifier 1 (100/s) gets 50-item batches, verifier 2 (20/s) 10.
    let sizes: Vec<(u64, usize)> = sent.iter().map(|(c, _, i)| (*c, i.len())).collect();
    assert_eq!(sizes, [(1, 50), (2, 10), (1, 50), (2, 10)]);

    // Verifier 2 drops mid-batch: its batches go out again, to verifier 1 when it has room.
    let mut a = core.closed(t0, 2);
    assert!(batches(&a).is_empty(), "verifier 1 is full");
    let (c, id, items) = sent[0].clone();
    a = core
        .verify_result(t0, c, &result(id, &truth(&items)))
        .unwrap();
    // The verdicts go back under the tickets of the items, in order.
    let back = verified(&a);
    assert_eq!(back.len(), 50);
    assert!(
        back.iter()
            .enumerate()
            .all(|(i, (t, v))| *t == i as u64 && *v != i.is_multiple_of(3))
    );
    let next = batches(&a);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].0, 1);
    assert_eq!(
        next[0].2[..10],
        sent[1].2[..],
        "the dropped batch comes first, unchanged"
    );

    // A late answer for a batch that was taken away does not count; a wrong count is an error.
    assert!(
        core.verify_result(t0, 2, &result(sent[1].1, &[true; 10]))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        core.verify_result(t0, 1, &result(next[0].1, &[true; 3])),
        Err(ResultError::WrongCount {
            batch_id: next[0].1,
            items: 50,
            verdicts: 3
        })
    );
    // A batch never handed out, and more verdicts than any batch holds, are errors too.
    assert_eq!(
        core.verify_result(t0, 1, &result(9999, &[true])),
        Err(ResultError::UnknownBatch { batch_id: 9999 })
    );
    assert!(matches!(
        core.verify_result(t0, 1, &result(next[0].1, &vec![true; 100_000])),
        Err(ResultError::TooManyVerdicts { .. })
    ));
    let s = core.stats();
    assert_eq!(s.signatures_verified, 50);
    assert_eq!(s.batches_redispatched, 3);
}

#[test]
fn a_missed_deadline_moves_the_batch_and_every_signature_is_answered_once() {
    let config = DispatchConfig {
        min_batch: 8,
        max_batch: 8,
        in_flight: 1,
        min_deadline: Duration::from_secs(2),
        ..DispatchConfig::default()
    };
    let (mut core, t0) = verifier_core(config, 1000.0);
    let first = batches(&core.add_verify_work(t0, work(20)));
    assert_eq!(first.len(), 1);
    // The slow verifier's batch passes its deadline; a second verifier joins and takes it.
    core.connected(2, [2; 32]);
    let joined = batches(&core.hello(
        t0 + Duration::from_secs(1),
        2,
        &hello(Role::Verifier, 1000.0),
    ));
    assert_eq!(joined.len(), 1);
    let moved = batches(&core.tick(t0 + Duration::from_millis(2500)));
    assert!(
        moved.iter().any(|(_, _, items)| *items == first[0].2),
        "{moved:?}"
    );
    // Answer everything; the slow verifier's late answer is ignored.
    let mut back = verified(
        &core
            .verify_result(t0, 1, &result(first[0].1, &truth(&first[0].2)))
            .unwrap(),
    );
    assert!(back.is_empty(), "a late answer hands back nothing");
    let mut pending: Vec<_> = joined.into_iter().chain(moved).collect();
    while let Some((conn, id, items)) = pending.pop() {
        let a = core
            .verify_result(
                t0 + Duration::from_secs(3),
                conn,
                &result(id, &truth(&items)),
            )
            .unwrap();
        back.extend(verified(&a));
        pending.extend(batches(&a));
    }
    let s = core.stats();
    assert_eq!(
        s.signatures_verified, 20,
        "each signature counted exactly once"
    );
    back.sort_unstable();
    let expected: Vec<(u64, bool)> = (0..20u64).map(|i| (i, !i.is_multiple_of(3))).collect();
    assert_eq!(
        back, expected,
        "every ticket answered once, with its verdict"
    );
    assert_eq!(s.signatures_queued, 0);
}

fn local_batches(actions: &[Action]) -> Vec<(u64, Vec<VerifyItem>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::VerifyLocally { batch_id, items } => Some((*batch_id, items.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn without_a_verifier_the_link_verifies_locally_unless_told_never() {
    let t0 = Instant::now();
    // auto: local while no verifier is connected, one batch at a time, nothing dropped.
    let mut core = LinkCore::new(
        DispatchConfig {
            min_batch: 4,
            max_batch: 8,
            ..DispatchConfig::default()
        },
        0,
    );
    let local = local_batches(&core.add_verify_work(t0, work(12)));
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].1.len(), 8);
    assert!(local_batches(&core.add_verify_work(t0, Vec::new())).is_empty());
    let a = core.local_result(t0, local[0].0, &truth(&local[0].1));
    assert_eq!(verified(&a).len(), 8);
    let rest = local_batches(&a);
    assert_eq!(rest.len(), 1, "the rest goes next");
    // A verifier connects: the rest after the local batch goes to it.
    core.connected(1, [1; 32]);
    core.hello(t0, 1, &hello(Role::Verifier, 100.0));
    let a = core.local_result(t0, rest[0].0, &truth(&rest[0].1));
    assert_eq!(verified(&a).len(), 4);
    let s = core.stats();
    assert_eq!(
        (s.signatures_verified, s.signatures_verified_locally),
        (12, 12)
    );
    let a = core.add_verify_work(t0, work(5));
    assert!(local_batches(&a).is_empty());
    assert_eq!(batches(&a).len(), 1, "a connected verifier gets the work");

    // never: the work waits for a verifier.
    let mut core = LinkCore::new(
        DispatchConfig {
            local: LocalVerify::Never,
            ..DispatchConfig::default()
        },
        0,
    );
    assert!(core.add_verify_work(t0, work(5)).is_empty());
    assert_eq!(core.stats().signatures_queued, 5);
    core.connected(1, [1; 32]);
    assert_eq!(
        batches(&core.hello(t0, 1, &hello(Role::Verifier, 100.0))).len(),
        1
    );

    // always: verifiers get nothing.
    let mut core = LinkCore::new(
        DispatchConfig {
            local: LocalVerify::Always,
            ..DispatchConfig::default()
        },
        0,
    );
    core.connected(1, [1; 32]);
    core.hello(t0, 1, &hello(Role::Verifier, 100.0));
    let a = core.add_verify_work(t0, work(5));
    assert!(batches(&a).is_empty());
    assert_eq!(local_batches(&a).len(), 1);

    // A full queue names the refused tickets: none is dropped silently.
    let mut core = LinkCore::new(
        DispatchConfig {
            local: LocalVerify::Never,
            max_queued: 3,
            ..DispatchConfig::default()
        },
        0,
    );
    let a = core.add_verify_work(t0, work(5));
    assert!(
        a.contains(&Action::Refused {
            tickets: vec![3, 4]
        }),
        "{a:?}"
    );
}

#[test]
fn the_status_names_each_worker_and_when_it_was_last_heard() {
    let mut core = LinkCore::new(DispatchConfig::default(), 0);
    let t0 = Instant::now();
    core.connected(1, [9; 32]);
    assert_eq!(core.stats().workers[0].role, None, "before its Hello");
    let mut h = hello(Role::Miner, 5.0);
    h.worker_name = "rig-1".into();
    h.backends = vec!["avx512".into(), "wgpu".into()];
    core.hello(t0, 1, &h);
    core.worker_stats(
        1,
        &ixi_link_proto::Stats {
            done: 1234,
            rate: 77.0,
        },
    );
    let later = t0 + Duration::from_secs(3);
    core.seen(1, later);
    let workers = core.stats().workers;
    assert_eq!(workers.len(), 1);
    let w = &workers[0];
    assert_eq!((w.conn, w.pin, w.role), (1, [9; 32], Some(Role::Miner)));
    assert_eq!(&*w.name, "rig-1");
    assert_eq!(&*w.backends, ["avx512".to_owned(), "wgpu".to_owned()]);
    assert_eq!((w.done, w.rate), (1234, 77.0));
    assert_eq!(w.last_seen, Some(later));
    core.closed(later, 1);
    assert!(core.stats().workers.is_empty());
}

#[test]
fn each_block_keeps_its_best_solutions_and_verdicts_within_a_bound() {
    let (mut core, c, job_id) = mining_core();
    let mut found = find_solutions(&c.prefix, &c.min_difficulty, 2, 5);
    found.sort_by(|a, b| a.1.cmp(&b.1));
    // A stale one is a rejection counted against the block mined now.
    core.solution(1, solution(job_id ^ 1, found[0].0.clone()));
    for (nonce, _) in &found {
        core.solution(1, solution(job_id, nonce.clone()));
    }
    let s = core.stats();
    assert_eq!(s.forwards_pending, 2);
    let block = s.current_block.unwrap();
    assert_eq!(block.height, 100);
    assert_eq!(block.min_difficulty, c.min_difficulty);
    assert_eq!(block.best_forwarded.as_ref(), Some(&found[1].1));
    assert_eq!((block.accepted, block.rejected), (0, 1));
    core.forward_outcome(100, &found[0].0, Outcome::Rejected(RejectReason::NotTaken));
    core.forward_outcome(100, &found[1].0, Outcome::Taken);
    let s = core.stats();
    assert_eq!(s.forwards_pending, 0);
    let block = s.current_block.unwrap();
    assert_eq!((block.accepted, block.rejected), (1, 2));
    assert_eq!(block.best_accepted.as_ref(), Some(&found[1].1));
    assert!(s.recent_blocks.is_empty());

    // Later blocks push it into the recent ones, which keep at most RECENT_BLOCKS.
    for height in 101..=100 + RECENT_BLOCKS as u64 + 5 {
        core.node_state(NodeState::Mining(challenge(height)));
    }
    let s = core.stats();
    assert_eq!(s.recent_blocks.len(), RECENT_BLOCKS);
    assert_eq!(
        s.recent_blocks.back().unwrap().height,
        100 + RECENT_BLOCKS as u64 + 4
    );
    assert_eq!(s.recent_blocks.front().unwrap().height, 105);
    assert_eq!(
        s.current_block.unwrap().height,
        100 + RECENT_BLOCKS as u64 + 5
    );

    // An idle spell and the same block again continue its record.
    let (mut core, c, job_id) = mining_core();
    let (nonce, d) = find_solutions(&c.prefix, &c.min_difficulty, 1, 9).remove(0);
    core.solution(1, solution(job_id, nonce.clone()));
    core.forward_outcome(100, &nonce, Outcome::Taken);
    core.node_state(NodeState::Idle {
        reason: IdleReason::Cooldown,
        detail: "between mining windows".into(),
    });
    assert_eq!(core.stats().current_block, None);
    assert_eq!(core.stats().recent_blocks.len(), 1);
    core.node_state(NodeState::Mining(c));
    let s = core.stats();
    assert!(s.recent_blocks.is_empty());
    let block = s.current_block.unwrap();
    assert_eq!((block.height, block.accepted), (100, 1));
    assert_eq!(block.best_accepted, Some(d));
}

#[test]
fn a_draining_link_answers_what_it_handed_out_and_hands_out_nothing_new() {
    let config = DispatchConfig {
        min_batch: 10,
        max_batch: 10,
        in_flight: 1,
        local: LocalVerify::Never,
        ..DispatchConfig::default()
    };
    let (mut core, t0) = verifier_core(config, 20.0);
    let sent = batches(&core.add_verify_work(t0, work(30)));
    assert_eq!(sent.len(), 1);
    assert_eq!(core.stats().batches_in_flight, 1);
    core.drain();
    let (_, batch_id, items) = &sent[0];
    let answered = core
        .verify_result(t0, 1, &result(*batch_id, &truth(items)))
        .unwrap();
    assert_eq!(
        verified(&answered).len(),
        10,
        "the batch in flight is answered"
    );
    assert!(batches(&answered).is_empty(), "and no new one handed out");
    assert!(batches(&core.tick(t0 + Duration::from_secs(1))).is_empty());
    let s = core.stats();
    assert_eq!(s.batches_in_flight, 0);
    assert_eq!(s.signatures_queued, 20);
}
