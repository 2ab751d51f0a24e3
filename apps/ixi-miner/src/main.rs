//! The `ixi-miner` command: signer proof-of-work search for Ixian DLT nodes.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: cli::Cli = ixi_cli_common::config::parse(cli::ENV_PREFIX);
    ixi_cli_common::logging::init_logging(tracing::Level::INFO, args.log().log_format);
    ixi_cli_common::exit_code("ixi-miner", cli::run(args))
}
