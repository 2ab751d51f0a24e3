//! The `ixi-miner` command: signer proof-of-work search for Ixian DLT nodes.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ixi-miner: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
