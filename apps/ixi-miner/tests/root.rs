//! The `ixi-miner` command's tests, in one test binary: the workspace's big dependencies are
//! linked once, not once per file.

mod cli;
mod http;

use std::time::Duration;

use ixi_formats::number::IxiNumber;
use ixi_simnode::SimConfig;

/// The command under test.
const BINARY: &str = env!("CARGO_BIN_EXE_ixi-miner");

/// A simulated chain for mining only: a block every two minutes (one job to mine), difficulty
/// 1,000,000, no signatures or transactions to verify.
fn mining_chain() -> SimConfig {
    SimConfig {
        block_interval: Duration::from_secs(120),
        min_difficulty: IxiNumber::from_whole(1_000_000),
        block_signatures: 0,
        transactions: 0,
        ..SimConfig::default()
    }
}
