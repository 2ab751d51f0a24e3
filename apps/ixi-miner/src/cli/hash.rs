//! `ixi-miner hash`.

use std::io::Write as _;

use anyhow::Context as _;
use ixi_cli_common::hash_line;
use ixi_cli_common::lines::{BoundedLines, Line};
use serde_json::json;

/// Longest input line: a valid one is under 2 KB (hex of a 64-byte hash, a 45-byte address, a
/// key of up to 528 bytes and a nonce of up to 64).
pub(super) const MAX_LINE: usize = 64 * 1024;

pub(super) fn run() -> anyhow::Result<()> {
    let lines = BoundedLines::new(std::io::stdin().lock(), MAX_LINE);
    let mut stdout = std::io::stdout().lock();
    let too_long = |bytes| {
        format!("line of {bytes} bytes is longer than the {MAX_LINE} bytes a line may have")
    };
    for line in lines {
        let answer = match line.context("reading stdin")? {
            Line::Complete(bytes) => hash_line::answer(&String::from_utf8_lossy(&bytes)),
            Line::TooLong { bytes } => json!({ "error": too_long(bytes) }),
        };
        writeln!(stdout, "{answer}").context("writing stdout")?;
    }
    stdout.flush().context("writing stdout")
}
