//! The link under many worker sessions, as a benchmark: `link_load [SESSIONS=1024]` (half
//! miners, half verifiers) runs the load scenario of `ixi_test_support::load` with the link on
//! a runtime of its own, checks that nothing was lost or answered twice, and prints the
//! link's CPU time (its threads only) and memory (heap allocated on its threads, and the
//! process's RSS, which holds both ends) per worker session. Run it in release:
//! `cargo run --release -p ixi-test-support --bin link_load -- 1024`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ixi_test_support::chain::Shape;
use ixi_test_support::load::{BATCH_ITEMS, LoadConfig, LoadRun, rss_bytes};

/// Counts the bytes live that were allocated, minus those freed, on the link's threads.
struct CountingAlloc;

static LINK_HEAP: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static ON_LINK_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn on_link_thread() -> bool {
    // During thread teardown the flag is gone: count nothing.
    ON_LINK_THREAD.try_with(Cell::get).unwrap_or(false)
}

fn size_of(layout: Layout) -> i64 {
    i64::try_from(layout.size()).unwrap_or(i64::MAX)
}

// SAFETY: every call is passed to the system allocator unchanged; the counting around it
// allocates nothing.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if on_link_thread() {
            LINK_HEAP.fetch_add(size_of(layout), Ordering::Relaxed);
        }
        // SAFETY: the caller's layout contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if on_link_thread() {
            LINK_HEAP.fetch_sub(size_of(layout), Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from this allocator (the system's) with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if on_link_thread() {
            let grown = i64::try_from(new_size).unwrap_or(i64::MAX) - size_of(layout);
            LINK_HEAP.fetch_add(grown, Ordering::Relaxed);
        }
        // SAFETY: as for `alloc` and `dealloc`: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Thread ids of the link runtime's threads.
type Tids = Arc<Mutex<Vec<u32>>>;

fn this_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Nanoseconds on CPU of these threads (schedstat), alive or not yet reaped.
fn cpu_ns(tids: &Tids) -> u64 {
    tids.lock()
        .unwrap()
        .iter()
        .filter_map(|tid| {
            let s = std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat")).ok()?;
            s.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

/// Nanoseconds on CPU of the whole process (utime + stime, in clock ticks of 10 ms).
fn process_cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, a)| a);
    let fields: Vec<u64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of stat; `after` starts at field 3.
    (fields.get(11).unwrap_or(&0) + fields.get(12).unwrap_or(&0)) * 10_000_000
}

#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    link_cpu: u64,
    process_cpu: u64,
    link_heap: i64,
    rss: u64,
}

fn sample(tids: &Tids) -> Sample {
    Sample {
        at: Instant::now(),
        link_cpu: cpu_ns(tids),
        process_cpu: process_cpu_ns(),
        link_heap: LINK_HEAP.load(Ordering::Relaxed),
        rss: rss_bytes(),
    }
}

fn report(phase: &str, from: Sample, to: Sample, sessions: usize) {
    let n = sessions as f64;
    let wall = to.at.duration_since(from.at).as_secs_f64();
    let link_cpu = (to.link_cpu - from.link_cpu) as f64 / 1e6;
    let process_cpu = (to.process_cpu - from.process_cpu) as f64 / 1e6;
    let heap = (to.link_heap - from.link_heap) as f64 / 1024.0;
    let rss = (to.rss as f64 - from.rss as f64) / 1024.0;
    println!(
        "{phase:<28} wall {wall:7.2} s | link CPU {link_cpu:9.1} ms = {:7.3} ms/session | \
         process CPU {process_cpu:9.1} ms | link heap {heap:+10.0} KiB = {:+7.1} KiB/session | \
         RSS {rss:+10.0} KiB = {:+7.1} KiB/session",
        link_cpu / n,
        heap / n,
        rss / n,
    );
}

fn main() {
    let sessions: usize = std::env::args()
        .nth(1)
        .map_or(1024, |a| a.parse().expect("SESSIONS as a number"));
    let verifiers = sessions / 2;
    let miners = sessions - verifiers;
    let shape = Shape {
        signatures: 22,
        transactions: 2,
        distinct_solutions: false,
    };
    // A batch for every verifier.
    let wanted = verifiers * BATCH_ITEMS;
    let per_block = shape.signatures + shape.transactions;
    let blocks = 1 + (wanted.saturating_sub(shape.transactions)).div_ceil(per_block) as u64;
    let config = LoadConfig {
        miners,
        verifiers,
        valid_solutions: 8,
        below_target_per_miner: 2,
        wave: 32,
        blocks,
        shape,
        broken_signatures: &[(3, 5)],
    };
    println!(
        "link_load: {sessions} sessions ({miners} miners, {verifiers} verifiers), {} signatures \
         in {blocks} blocks, {} solutions",
        config.verify_items(),
        miners * (config.below_target_per_miner + 2) + config.valid_solutions
    );
    let started = Instant::now();
    let prepared = config.prepare();
    println!(
        "prepared the chain and solutions in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let tids: Tids = Arc::default();
    let recorded = Arc::clone(&tids);
    let link_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_keep_alive(Duration::from_secs(3600))
        .on_thread_start(move || {
            ON_LINK_THREAD.with(|f| f.set(true));
            if let Some(tid) = this_tid() {
                recorded.lock().unwrap().push(tid);
            }
        })
        .enable_all()
        .build()
        .unwrap();
    let workers_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = link_runtime.handle().clone();
    let outcome = workers_runtime.block_on(async move {
        let mut run = LoadRun::start(prepared, &handle).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let idle_link = sample(&tids);
        println!(
            "link started: link heap {} KiB, process RSS {} KiB",
            idle_link.link_heap / 1024,
            idle_link.rss / 1024
        );
        let retries = run.connect().await;
        let connected = sample(&tids);
        println!(
            "connected in waves of {}: {retries} attempts retried",
            config.wave
        );
        report("connect", idle_link, connected, sessions);
        tokio::time::sleep(Duration::from_secs(10)).await;
        let idled = sample(&tids);
        report("10 s idle, all connected", connected, idled, sessions);
        let outcome = run.work(Duration::from_millis(500)).await;
        let worked = sample(&tids);
        report("work, then all closed", idled, worked, sessions);
        outcome
    });
    outcome.check(&config);
    println!(
        "checked: every solution judged once ({} accepted), every signature verified once ({}), \
         no session dropped; whole run {:.1} s",
        outcome.stats.solutions_accepted,
        outcome.stats.signatures_verified,
        started.elapsed().as_secs_f64()
    );
    workers_runtime.shutdown_timeout(Duration::from_secs(1));
    link_runtime.shutdown_timeout(Duration::from_secs(1));
}
