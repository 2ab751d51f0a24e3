//! `ixi-verifier verify`: JSON lines in, one verdict line out per line, in order.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

use anyhow::Context as _;
use ixi_cli_common::lines::{BoundedLines, Line};
use ixi_cli_common::verify_line::{self, LineKey, VerifyLine};
use ixi_kernels::cpu::CpuFeatures;
use ixi_verifier::backend::{self, VerifyBackend};
use ixi_verifier::{Batch, KeyCache, KeyRejected, VerifyingKey};
use rayon::prelude::*;
use serde_json::{Value, json};

use super::VerifyArgs;

/// One input line, parsed.
enum Parsed {
    /// Malformed: answered with `{"error"}`.
    Error(String),
    /// A key the reference cannot use: answered `{"valid": false}` with the reason.
    Unusable(KeyRejected),
    /// Ready to verify.
    Item {
        key: Arc<VerifyingKey>,
        message: Vec<u8>,
        signature: Vec<u8>,
    },
}

pub(super) fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let (kind, threads) = args.engine.resolve(&features)?;
    let backend = backend::create(kind, &features, threads)?;
    // Lines are parsed (JSON, hex, key lookups) in parallel too: at thousands of signatures a
    // second parsing on one thread would cap the verifier.
    let parsers = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("starting parser threads")?;
    let cache = KeyCache::default();
    let batch_size = args.batch;

    // A reader thread keeps lines coming while a batch is verified; a batch is whatever has
    // arrived (up to --batch lines), so interactive use gets prompt answers. What waits is
    // bounded in lines (the channel) and in bytes (the budget).
    let (tx, rx) = mpsc::sync_channel::<std::io::Result<Line>>(batch_size * 2);
    let budget = Arc::new(ByteBudget::new(MAX_BUFFERED));
    let reader_budget = Arc::clone(&budget);
    std::thread::spawn(move || {
        for line in BoundedLines::new(std::io::stdin().lock(), MAX_LINE) {
            if let Ok(Line::Complete(bytes)) = &line {
                reader_budget.take(bytes.len());
            }
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdout = std::io::stdout().lock();
    while let Ok(first) = rx.recv() {
        let mut lines = vec![first.context("reading stdin")?];
        while lines.len() < batch_size {
            match rx.try_recv() {
                Ok(line) => lines.push(line.context("reading stdin")?),
                Err(_) => break,
            }
        }
        let parsed: Vec<Parsed> =
            parsers.install(|| lines.par_iter().map(|l| parse_line(l, &cache)).collect());
        budget.give_back(
            lines
                .iter()
                .map(|l| match l {
                    Line::Complete(bytes) => bytes.len(),
                    Line::TooLong { .. } => 0,
                })
                .sum(),
        );
        drop(lines);
        for answer in answer_all(&parsed, backend.as_ref()) {
            writeln!(stdout, "{answer}").context("writing stdout")?;
        }
        stdout.flush().context("writing stdout")?;
    }
    Ok(())
}

fn answer_all(parsed: &[Parsed], backend: &dyn VerifyBackend) -> Vec<Value> {
    let mut batch = Batch::new();
    for p in parsed {
        if let Parsed::Item {
            key,
            message,
            signature,
        } = p
        {
            batch.push(key, message, signature);
        }
    }
    let mut verdicts = batch.verdicts(backend).into_iter();
    parsed
        .iter()
        .map(|p| match p {
            Parsed::Error(message) => json!({ "error": message }),
            Parsed::Unusable(reason) => json!({ "valid": false, "reason": reason.to_string() }),
            // One verdict per pushed item, in push order.
            Parsed::Item { .. } => json!({ "valid": verdicts.next().unwrap_or(false) }),
        })
        .collect()
}

fn parse_line(line: &Line, cache: &KeyCache) -> Parsed {
    let bytes = match line {
        Line::Complete(bytes) => bytes,
        Line::TooLong { bytes } => {
            return Parsed::Error(format!(
                "line of {bytes} bytes is longer than the {MAX_LINE} bytes a line may have"
            ));
        }
    };
    match parse_fields(bytes, cache) {
        Ok(p) => p,
        Err(message) => Parsed::Error(message),
    }
}

/// Longest input line: a key of the largest size OpenSSL takes (16384 bits), its signature, and
/// a message of up to about 500 KB, in hex.
pub(super) const MAX_LINE: usize = 1 << 20;
/// Most input bytes read ahead of the verifier at once.
const MAX_BUFFERED: usize = 64 << 20;

/// Bytes the reader may hold before the verifier catches up: the reader waits past the limit.
struct ByteBudget {
    limit: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

impl ByteBudget {
    fn new(limit: usize) -> Self {
        Self {
            limit,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Takes `n` bytes, waiting while they do not fit (a line alone always fits).
    fn take(&self, n: usize) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        while *used > 0 && *used + n > self.limit {
            used = self
                .freed
                .wait(used)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *used += n;
    }

    fn give_back(&self, n: usize) {
        let mut used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        *used = used.saturating_sub(n);
        self.freed.notify_all();
    }
}

fn parse_fields(line: &[u8], cache: &KeyCache) -> Result<Parsed, String> {
    let VerifyLine {
        key,
        message,
        signature,
    } = verify_line::parse(line)?;
    let key = match key {
        LineKey::Ixian(bytes) => cache.get(&bytes),
        LineKey::Components { modulus, exponent } => {
            VerifyingKey::from_components(&modulus, &exponent).map(Arc::new)
        }
    };
    Ok(match key {
        Ok(key) => Parsed::Item {
            key,
            message,
            signature,
        },
        Err(rejected) => Parsed::Unusable(rejected),
    })
}
