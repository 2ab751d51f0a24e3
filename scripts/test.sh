#!/usr/bin/env bash
# The test command of the README: every crate's unit, integration, CLI and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cargo test --workspace --locked
