//! The scheduler end to end: solutions verified on the plain path, improving difficulties,
//! job replacement, partitioning, exhaustion, and faults from a lying backend.

use std::time::{Duration, Instant};

use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_kernels::pow::{Hit, Target};
use ixi_kernels::select::BackendKind as _;
use ixi_miner::backend::{BackendKind, CpuBackend, CpuFeatures, NonceRange, Result, SearchBackend};
use ixi_miner::job::{Job, NonceConfig};
use ixi_miner::scheduler::{Miner, MinerConfig, MinerEvent, Solution};
use rand::RngCore as _;

use crate::pow_vectors::backend_matrix;

/// A miner on `threads` threads of `backend`, searching `batch` nonces at a time.
fn start_miner(backend: BackendKind, threads: usize, batch: u64) -> Miner {
    let config = MinerConfig {
        backend,
        threads,
        batch: Some(batch),
    };
    Miner::start(config, &CpuFeatures::detect()).unwrap()
}

fn random_prefix(len: usize) -> Vec<u8> {
    let mut p = vec![0u8; len];
    rand::rng().fill_bytes(&mut p);
    p
}

/// Collects solutions until `n` arrive or `timeout` passes; any fault fails the test.
fn collect(miner: &Miner, n: usize, timeout: Duration) -> Vec<Solution> {
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match miner.events().recv_timeout(left) {
            Ok(MinerEvent::Solution(s)) => out.push(s),
            Ok(other) => panic!("unexpected event {other:?}"),
            Err(_) => break,
        }
    }
    out
}

fn assert_verified(prefix: &[u8], s: &Solution, min: &IxiNumber) {
    let hash = solution::hash_with_prefix(prefix, &s.nonce).unwrap();
    assert_eq!(hash, s.hash, "reported hash is the plain path's");
    let d = difficulty::hash_to_difficulty(&hash).unwrap();
    assert_eq!(d, s.difficulty);
    assert!(
        difficulty::validate_hash(&hash, min).unwrap(),
        "meets the minimum"
    );
}

#[test]
fn every_reported_solution_verifies_and_improves() {
    for kind in backend_matrix() {
        let miner = start_miner(kind, 2, 4096);
        let prefix = random_prefix(178);
        let min = IxiNumber::from_whole(500);
        let job = Job::new(7, prefix.clone(), min.clone(), &NonceConfig::default()).unwrap();
        miner.set_job(job);
        let found = collect(&miner, 4, Duration::from_secs(60));
        assert_eq!(found.len(), 4, "{kind}: four improving solutions");
        for pair in found.windows(2) {
            assert!(
                pair[1].difficulty > pair[0].difficulty,
                "{kind}: strictly improving"
            );
        }
        for s in &found {
            assert_eq!(s.job_id, 7);
            assert_eq!(s.nonce.len(), 32);
            assert_eq!(s.backend, kind.name());
            assert_verified(&prefix, s, &min);
        }
        // Attempts are counted when a range is done: four solutions may come before that.
        let counting = std::time::Instant::now();
        while miner.attempts() == 0 {
            assert!(
                counting.elapsed() < Duration::from_secs(30),
                "{kind}: no attempts counted"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        miner.stop();
    }
}

#[test]
fn a_new_job_replaces_the_old_one() {
    let miner = start_miner(BackendKind::Soft, 2, 2048);
    let min = IxiNumber::from_whole(200);
    let first = random_prefix(100);
    miner.set_job(Job::new(1, first.clone(), min.clone(), &NonceConfig::default()).unwrap());
    let a = collect(&miner, 1, Duration::from_secs(30));
    assert_eq!(a.len(), 1);
    assert_verified(&first, &a[0], &min);

    let second = random_prefix(150);
    miner.set_job(Job::new(2, second.clone(), min.clone(), &NonceConfig::default()).unwrap());
    // Hits of job 1 still in flight may arrive first; they stay valid for job 1.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let event = miner
            .events()
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("a solution of job 2");
        let MinerEvent::Solution(s) = event else {
            panic!("unexpected {event:?}")
        };
        if s.job_id == 2 {
            assert_verified(&second, &s, &min);
            break;
        }
        assert_eq!(s.job_id, 1);
        assert_verified(&first, &s, &min);
    }
}

#[test]
fn nonces_carry_the_partition_prefix() {
    let miner = start_miner(BackendKind::Soft, 1, 1024);
    let prefix = random_prefix(64);
    let min = IxiNumber::from_whole(50);
    let nonce = NonceConfig {
        len: 12,
        partition: vec![0xab, 0xcd],
    };
    miner.set_job(Job::new(3, prefix.clone(), min.clone(), &nonce).unwrap());
    let found = collect(&miner, 2, Duration::from_secs(30));
    assert_eq!(found.len(), 2);
    for s in found {
        assert_eq!(s.nonce.len(), 12);
        assert_eq!(s.nonce[..2], [0xab, 0xcd]);
        assert_verified(&prefix, &s, &min);
    }
}

#[test]
fn a_short_nonce_space_is_reported_exhausted() {
    let miner = start_miner(BackendKind::Soft, 2, 1000);
    // 2-byte nonce: 65536 attempts; difficulty 10^12 is out of reach for them.
    let nonce = NonceConfig {
        len: 2,
        partition: Vec::new(),
    };
    let job = Job::new(
        9,
        random_prefix(80),
        IxiNumber::from_whole(1_000_000_000_000u64),
        &nonce,
    )
    .unwrap();
    miner.set_job(job);
    let event = miner
        .events()
        .recv_timeout(Duration::from_secs(60))
        .unwrap();
    assert_eq!(event, MinerEvent::Exhausted { job_id: 9 });
    // Both workers searched the whole space once, and no more than once.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(miner.attempts(), 65536);
}

/// A backend that reports a wrong hash for every attempt.
struct Liar;

impl SearchBackend for Liar {
    fn name(&self) -> &'static str {
        "liar"
    }
    fn device(&self) -> String {
        "gpu7".to_owned()
    }
    fn preferred_batch(&self) -> u64 {
        16
    }
    fn load_job(&mut self, _job: &Job) -> Result<()> {
        Ok(())
    }
    fn search(&mut self, range: NonceRange, _target: &Target, hits: &mut Vec<Hit>) -> Result<u64> {
        hits.push(Hit {
            counter: range.start,
            hash: [0x11; 64],
        });
        Ok(range.count)
    }
}

#[test]
fn a_wrong_hit_is_a_fault_never_a_solution() {
    let miner = Miner::with_backends(vec![Box::new(Liar), Box::new(CpuBackend::soft())], None);
    let prefix = random_prefix(90);
    let min = IxiNumber::from_whole(100);
    miner.set_job(Job::new(4, prefix.clone(), min.clone(), &NonceConfig::default()).unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    let (mut faults, mut solutions) = (0, 0);
    while Instant::now() < deadline && (faults == 0 || solutions == 0) {
        match miner.events().recv_timeout(Duration::from_secs(1)) {
            Ok(MinerEvent::Fault {
                backend, message, ..
            }) => {
                assert_eq!(backend, "liar");
                assert!(message.contains("hash mismatch"), "{message}");
                faults += 1;
            }
            Ok(MinerEvent::Solution(s)) => {
                assert_eq!(s.backend, "soft");
                assert_verified(&prefix, &s, &min);
                solutions += 1;
            }
            _ => {}
        }
    }
    assert!(
        faults > 0 && solutions > 0,
        "faults {faults}, solutions {solutions}"
    );
    // Per device: the liar's faults are its own, and the devices' attempts add up to the total.
    miner.clear_job();
    std::thread::sleep(Duration::from_millis(500));
    let devices = miner.devices();
    let names: Vec<(&str, &str, usize)> = devices
        .iter()
        .map(|d| (d.device.as_str(), d.backend, d.workers))
        .collect();
    assert_eq!(names, [("gpu7", "liar", 1), ("cpu", "soft", 1)]);
    assert!(devices[0].faults >= faults, "{devices:?}");
    assert_eq!(devices[1].faults, 0, "{devices:?}");
    assert!(devices.iter().all(|d| d.attempts > 0), "{devices:?}");
    assert_eq!(
        devices.iter().map(|d| d.attempts).sum::<u64>(),
        miner.attempts()
    );
}
