//! Runs one backend per worker thread over the current job.
//!
//! Workers take counter ranges from one shared cursor, so no two workers (and, through the
//! nonce partition, no two miners) repeat work. A new job replaces the old one atomically:
//! workers pick it up at their next batch. Every hit is re-verified on the plain `sha3` path;
//! a hit that beats the job's best difficulty so far is reported and raises the target, so the
//! search keeps improving past the minimum. A hit that does not verify is reported as a fault
//! and never as a solution.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_kernels::pow::{Hit, Target};

use crate::backend::{self, BackendError, BackendKind, CpuFeatures, NonceRange, SearchBackend};
use crate::job::Job;

/// `n + 0.00000001`: the smallest difficulty strictly above `n`.
fn next_above(n: &IxiNumber) -> IxiNumber {
    IxiNumber::from_raw(n.raw() + 1)
}

/// How to run the miner.
#[derive(Debug, Clone, Copy)]
pub struct MinerConfig {
    /// The backend every worker runs.
    pub backend: BackendKind,
    /// Worker threads.
    pub threads: usize,
    /// Attempts per batch; `None` takes the backend's preferred batch.
    pub batch: Option<u64>,
}

/// A verified solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Solution {
    /// The job it solves.
    pub job_id: u64,
    /// The nonce to submit.
    pub nonce: Vec<u8>,
    /// `sha3_512sq(prefix ‖ nonce)`, computed on the plain path.
    pub hash: [u8; 64],
    /// Its exact difficulty.
    pub difficulty: IxiNumber,
    /// The backend that found it.
    pub backend: &'static str,
}

/// What the miner reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MinerEvent {
    /// A solution better than every earlier one of its job.
    Solution(Solution),
    /// A backend reported a hit the plain path does not confirm; it was not reported as a
    /// solution.
    Fault {
        /// The backend.
        backend: &'static str,
        /// The job.
        job_id: u64,
        /// What was wrong.
        message: String,
    },
    /// The job's whole counter space was searched.
    Exhausted {
        /// The job.
        job_id: u64,
    },
}

/// One job as the workers share it.
struct ActiveJob {
    job: Job,
    /// Next counter to hand out; `u128` so the end of a 2^64 space is representable.
    cursor: Mutex<u128>,
    best: Mutex<Best>,
    exhausted: AtomicBool,
}

struct Best {
    difficulty: Option<IxiNumber>,
    target: Target,
}

impl ActiveJob {
    fn new(job: Job) -> Self {
        let target = *job.min_target();
        Self {
            job,
            cursor: Mutex::new(0),
            best: Mutex::new(Best {
                difficulty: None,
                target,
            }),
            exhausted: AtomicBool::new(false),
        }
    }

    fn take_range(&self, batch: u64) -> Option<NonceRange> {
        let space = u128::from(self.job.layout().max_counter()) + 1;
        let mut cursor = lock(&self.cursor);
        if *cursor >= space {
            return None;
        }
        // cursor < space <= 2^64: fits a u64.
        let start = u64::try_from(*cursor).ok()?;
        *cursor += u128::from(batch);
        Some(NonceRange {
            start,
            count: batch,
        })
    }

    /// Verifies a hit on the plain path and reports it if it beats the best so far.
    fn report(&self, hit: &Hit, backend: &'static str, events: &Sender<MinerEvent>) {
        let job_id = self.job.id();
        let fault = |message: String| MinerEvent::Fault {
            backend,
            job_id,
            message,
        };
        let nonce = self.job.layout().nonce_for(hit.counter);
        let hash = match solution::hash_with_prefix(self.job.prefix(), &nonce) {
            Ok(h) => h,
            Err(e) => return send(events, fault(format!("invalid nonce: {e}"))),
        };
        if hash != hit.hash {
            return send(
                events,
                fault(format!(
                    "hash mismatch for nonce {}: backend {} vs plain {}",
                    hex::encode(&nonce),
                    hex::encode(hit.hash),
                    hex::encode(hash)
                )),
            );
        }
        let difficulty = match difficulty::hash_to_difficulty(&hash) {
            Ok(d) => d,
            Err(e) => return send(events, fault(format!("hash without difficulty: {e}"))),
        };
        if &difficulty < self.job.min_difficulty() {
            return send(
                events,
                fault(format!(
                    "hit of difficulty {difficulty} is below the minimum {}",
                    self.job.min_difficulty()
                )),
            );
        }
        let mut best = lock(&self.best);
        if best.difficulty.as_ref().is_some_and(|b| &difficulty <= b) {
            return; // another hit of this job was at least as good
        }
        // Only strictly better hashes are worth finding from now on.
        best.target = match difficulty::acceptance_bound(&next_above(&difficulty)) {
            Ok(bound) => Target::from_bound(&bound),
            Err(_) => Target::from_bound(&[0; 64]), // nothing can beat it
        };
        best.difficulty = Some(difficulty.clone());
        send(
            events,
            MinerEvent::Solution(Solution {
                job_id,
                nonce,
                hash,
                difficulty,
                backend,
            }),
        );
    }
}

fn send(events: &Sender<MinerEvent>, event: MinerEvent) {
    // The receiver lives in `Miner`; if it is gone the miner is shutting down.
    let _ = events.send(event);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A worker that panicked mid-update leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Shared {
    current: Mutex<Option<Arc<ActiveJob>>>,
    changed: Condvar,
    stop: AtomicBool,
    attempts: AtomicU64,
}

/// A running miner.
pub struct Miner {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    events: Receiver<MinerEvent>,
    backends: Vec<&'static str>,
}

impl Miner {
    /// Starts `config.threads` workers (at least one), idle until [`Miner::set_job`].
    ///
    /// # Errors
    /// [`BackendError`] if the backend cannot be built on this machine.
    pub fn start(config: MinerConfig, features: &CpuFeatures) -> Result<Self, BackendError> {
        let backends = backend::create(config.backend, features, config.threads)?;
        Ok(Self::with_backends(backends, config.batch))
    }

    /// Starts one worker per backend (several kinds may be mixed), idle until
    /// [`Miner::set_job`].
    #[must_use]
    pub fn with_backends(backends: Vec<Box<dyn SearchBackend>>, batch: Option<u64>) -> Self {
        let names: Vec<&'static str> = backends.iter().map(|b| b.name()).collect();
        let shared = Arc::new(Shared {
            current: Mutex::new(None),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            attempts: AtomicU64::new(0),
        });
        let (tx, rx) = crossbeam_channel::unbounded();
        let workers = backends
            .into_iter()
            .map(|b| {
                let shared = Arc::clone(&shared);
                let tx = tx.clone();
                std::thread::spawn(move || worker(b, batch, &shared, &tx))
            })
            .collect();
        Self {
            shared,
            workers,
            events: rx,
            backends: names,
        }
    }

    /// Replaces the current job; workers switch at their next batch.
    pub fn set_job(&self, job: Job) {
        *lock(&self.shared.current) = Some(Arc::new(ActiveJob::new(job)));
        self.shared.changed.notify_all();
    }

    /// Stops searching until the next [`Miner::set_job`].
    pub fn clear_job(&self) {
        *lock(&self.shared.current) = None;
        self.shared.changed.notify_all();
    }

    /// Solutions, faults and exhaustion, in the order they happened.
    #[must_use]
    pub fn events(&self) -> &Receiver<MinerEvent> {
        &self.events
    }

    /// Attempts made since start, over all workers.
    #[must_use]
    pub fn attempts(&self) -> u64 {
        self.shared.attempts.load(Ordering::Relaxed)
    }

    /// The best difficulty found for the current job.
    #[must_use]
    pub fn best_difficulty(&self) -> Option<IxiNumber> {
        let current = lock(&self.shared.current).clone();
        current.and_then(|j| lock(&j.best).difficulty.clone())
    }

    /// The backend of each worker.
    #[must_use]
    pub fn backends(&self) -> &[&'static str] {
        &self.backends
    }

    /// Stops the workers and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.changed.notify_all();
        for w in self.workers.drain(..) {
            // A worker panic has already been printed; nothing else to do with it here.
            let _ = w.join();
        }
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn worker(
    mut backend: Box<dyn SearchBackend>,
    batch: Option<u64>,
    shared: &Shared,
    events: &Sender<MinerEvent>,
) {
    let batch = batch.unwrap_or_else(|| backend.preferred_batch()).max(1);
    let name = backend.name();
    let mut loaded: Option<Arc<ActiveJob>> = None;
    let mut hits = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let current = lock(&shared.current).clone();
        let Some(active) = current else {
            wait_for_change(shared, None);
            continue;
        };
        if !loaded.as_ref().is_some_and(|l| Arc::ptr_eq(l, &active)) {
            if let Err(e) = backend.load_job(&active.job) {
                send(events, fault(name, &active, &e));
                wait_for_change(shared, Some(&active));
                continue;
            }
            loaded = Some(Arc::clone(&active));
        }
        let Some(range) = active.take_range(batch) else {
            if !active.exhausted.swap(true, Ordering::Relaxed) {
                send(
                    events,
                    MinerEvent::Exhausted {
                        job_id: active.job.id(),
                    },
                );
            }
            wait_for_change(shared, Some(&active));
            continue;
        };
        let target = lock(&active.best).target;
        hits.clear();
        let outcome = backend.search(range, &target, &mut hits);
        // Hits found before a failure are still real: every one is verified on the plain path.
        for hit in &hits {
            active.report(hit, name, events);
        }
        match outcome {
            Ok(done) => {
                shared.attempts.fetch_add(done, Ordering::Relaxed);
            }
            Err(e) => {
                send(events, fault(name, &active, &e));
                loaded = None;
            }
        }
    }
}

fn fault(backend: &'static str, active: &ActiveJob, e: &BackendError) -> MinerEvent {
    MinerEvent::Fault {
        backend,
        job_id: active.job.id(),
        message: e.to_string(),
    }
}

/// Sleeps until the job changes from `seen`, the miner stops, or a short timeout passes.
fn wait_for_change(shared: &Shared, seen: Option<&Arc<ActiveJob>>) {
    let guard = lock(&shared.current);
    let same = |cur: &Option<Arc<ActiveJob>>| match (cur, seen) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    };
    if same(&guard) && !shared.stop.load(Ordering::Relaxed) {
        let _ = shared
            .changed
            .wait_timeout(guard, Duration::from_millis(200))
            .unwrap_or_else(PoisonError::into_inner);
    }
}
