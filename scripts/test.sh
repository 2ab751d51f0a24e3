#!/usr/bin/env bash
# The test command of the README: every crate's unit, integration and CLI tests.
# `--tests` leaves out doc tests: the workspace has no doc examples (its code fences are text,
# TOML and shell), and rustdoc would re-read each of its crates to find none; a crate that gains
# one runs it with `cargo test --doc -p CRATE`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --workspace --locked --tests
