//! The `ixi-verifier` command: exact batch RSA verification for Ixian DLT nodes.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed: cli::Cli = ixi_cli_common::config::parse(cli::ENV_PREFIX);
    ixi_cli_common::exit_code("ixi-verifier", cli::run(parsed))
}
