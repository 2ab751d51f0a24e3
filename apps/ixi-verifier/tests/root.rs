//! The `ixi-verifier` command's tests, in one test binary: the workspace's big dependencies are
//! linked once, not once per file.

mod cli;
mod http;

/// The command under test.
const BINARY: &str = env!("CARGO_BIN_EXE_ixi-verifier");
