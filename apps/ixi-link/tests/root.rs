//! The `ixi-link` command's tests, in one test binary: the workspace's big dependencies are
//! linked once, not once per file.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used)]

mod cli;
mod observe;

use std::path::Path;
use std::process::Command;

use ixi_test_support::cli::assert_success;
use serde_json::Value;

/// The command under test.
const BINARY: &str = env!("CARGO_BIN_EXE_ixi-link");

fn link() -> Command {
    Command::new(BINARY)
}

/// `ixi-link init --data-dir dir --json`, which must succeed: its JSON line.
fn init_json(dir: &Path) -> Value {
    let out = link()
        .args(["init", "--data-dir", dir.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A loopback UDP address free now, for a link to listen on.
fn free_udp_addr() -> String {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().to_string()
}

/// `ixi-link serve` from `dir` on `listen` with its simulated node: a block every 2 s at
/// difficulty 1,000,000, nothing to verify.
fn serve_simulated(dir: &Path, listen: &str) -> Command {
    let mut command = link();
    command
        .args(["serve", "--data-dir", dir.to_str().unwrap()])
        .args(["--listen", listen, "--simulate"])
        .args(["--block-seconds", "2", "--min-difficulty", "1000000"])
        .args(["--block-signatures", "0", "--transactions", "0"]);
    command
}
