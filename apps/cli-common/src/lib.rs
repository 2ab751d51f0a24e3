//! `ixi-cli-common`: what the `ixi-miner`, `ixi-verifier` and `ixi-link` commands share.
//!
//! - [`config`]: `--config FILE` (TOML), the environment and the command line as one set of
//!   settings, `config check`, and the example file `init` writes.
//! - [`link`]: `init` (a data directory's identity and pin) and the worker's `connect`
//!   options (link address and pin, worker name).
//! - [`engine`]: `--backend` and `--threads` as both worker binaries take them, with the
//!   environment override (`IXI_MINER_BACKEND`, `IXI_VERIFIER_BACKEND`).
//! - [`devices`]: the CPU features and backends part of `devices`, as text and as JSON.
//! - [`lines`]: line-oriented input with a bound on a line's length.
//! - [`hash_line`] and [`verify_line`]: what `ixi-miner hash` and `ixi-verifier verify` make of
//!   one input line.
//! - [`logging`]: log set-up (`IXI_LOG`, `--log-format`, colours only on a terminal).
//! - [`progress`]: progress bars on a terminal only (benchmarks, audits, GPU tuning).
//! - [`run`]: a worker's task on a small runtime until Ctrl-C, serving its HTTP endpoint, with a
//!   status line on a terminal drawn from the status its link loop publishes; a command's exit
//!   status.
//! - [`service`]: stop signals (SIGTERM, SIGINT) and systemd notifications.
//! - [`secret`]: a password that no `Debug` or log line prints.

pub mod config;
pub mod devices;
pub mod engine;
pub mod hash_line;
pub mod lines;
pub mod link;
pub mod logging;
pub mod progress;
pub mod run;
pub mod secret;
pub mod service;
pub mod verify_line;

pub use link::{ConnectArgs, InitArgs, InitError, LinkArgs, LinkArgsError, init};
pub use run::{RuntimeError, WorkerState, exit_code, run_until_interrupted, run_worker};
