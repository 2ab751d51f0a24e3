//! `ixi-miner hash`.

use std::io::{BufRead as _, Write as _};

use anyhow::Context as _;

pub(super) fn run() -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.split(b'\n') {
        let line = line.context("reading stdin")?;
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\r').unwrap_or(&text);
        let answer = ixi_miner::hashline::answer(text);
        writeln!(stdout, "{answer}").context("writing stdout")?;
    }
    stdout.flush().context("writing stdout")
}
