//! Child processes and scratch directories of tests that run the workspace's binaries, and a
//! lock for the heavy ones: the tests of a crate share one test binary, so they run as threads
//! of one process.

use std::io::{BufRead, Lines};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A child process, killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A path under the system's temporary directory that nothing else in this process is given:
/// `name` (for whoever reads it), this process's id and a counter. Whatever was there is
/// removed; the directory itself is not created.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ixi-test-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// As [`temp_dir`], created.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Sends SIGTERM to `child`.
pub fn sigterm(child: &Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
}

/// Waits (at most `within`) for `child`'s exit status.
pub fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let asked = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(asked.elapsed() < within, "still running after {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM and waits (at most `within`) for the exit status.
pub fn terminate(child: &mut Child, within: Duration) -> ExitStatus {
    sigterm(child);
    wait_exit(child, within)
}

/// Held by a test that keeps every core busy for long (a devnet mining and verifying), so that
/// two such tests of one test binary take turns instead of starving each other into their
/// timeouts. A test that failed while holding it does not poison it for the others.
pub fn heavy() -> MutexGuard<'static, ()> {
    static HEAVY: Mutex<()> = Mutex::new(());
    HEAVY.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Reads `lines` (a child's output) up to the first line containing `needle` and returns it;
/// fails if the output ends first or no such line came within `within`.
pub fn line_containing<R: BufRead>(lines: &mut Lines<R>, needle: &str, within: Duration) -> String {
    let asked = Instant::now();
    loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("the output ended before a line with {needle:?}"))
            .unwrap();
        if line.contains(needle) {
            return line;
        }
        assert!(
            asked.elapsed() < within,
            "no line with {needle:?} within {within:?}"
        );
    }
}
