//! The `ixi-verifier` command: exact batch RSA verification for Ixian DLT nodes.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    init_logging();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ixi-verifier: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `IXI_LOG` sets the level (error, warn, info, debug, trace; default info).
fn init_logging() {
    let level = std::env::var("IXI_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing::Level::INFO);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .init();
}
