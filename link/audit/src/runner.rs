//! The `ixi-link audit` runner: blocks A..=B fetched in order while the previous block's
//! signatures are verified on this machine's threads (the ixi-verifier engine).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ixi_verifier::KeyCache;
use ixi_verifier::backend::VerifyBackend;
use tokio::sync::mpsc;

use crate::checks::{Counts, Prepared, RsaWork};
use crate::fetch::{AuditError, Auditor};
use crate::finding::{Finding, LogError};

/// What to audit.
#[derive(Debug, Clone)]
pub struct AuditRange {
    /// First block.
    pub from: u64,
    /// Last block (included).
    pub to: u64,
    /// Where the next block to audit is kept, so an interrupted audit resumes there. Without
    /// it, an audit always does its whole range (no hidden state).
    pub resume_file: Option<PathBuf>,
}

/// What an audit did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Summary {
    /// Blocks checked.
    pub blocks: u64,
    /// What was checked.
    pub counts: Counts,
    /// Findings.
    pub findings: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Summary {
    /// The last line of `audit --json`: `{"summary": {...}}`.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "summary": {
            "blocks": self.blocks,
            "blockSignatures": self.counts.block_signatures,
            "powSolutions": self.counts.pow_solutions,
            "transactions": self.counts.transactions,
            "skipped": self.counts.skipped,
            "findings": self.findings,
            "seconds": self.seconds,
        }})
    }
}

/// Progress after each block.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Blocks done.
    pub blocks: u64,
    /// Blocks in the range (from where it started).
    pub total: u64,
    /// RSA signatures verified so far.
    pub signatures: u64,
    /// Since the start.
    pub elapsed: Duration,
}

/// Verifies a block's RSA work on `backend`: one verdict per item.
#[must_use]
pub fn verify_local(work: &[RsaWork], cache: &KeyCache, backend: &dyn VerifyBackend) -> Vec<bool> {
    let items: Vec<(&[u8], &[u8], &[u8])> = work
        .iter()
        .map(|w| (&w.key[..], &w.message[..], &w.signature[..]))
        .collect();
    cache.verdicts(&items, backend)
}

fn read_resume(range: &AuditRange) -> u64 {
    let Some(path) = &range.resume_file else {
        return range.from;
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|n| (range.from..=range.to.saturating_add(1)).contains(n))
        .unwrap_or(range.from)
}

/// Audits `range`: every finding goes to `on_finding` (which writes it) before it is counted.
///
/// # Errors
/// [`AuditError`] naming the block that could not be fetched or parsed (after retries), or a
/// finding that could not be written.
pub async fn run(
    auditor: Arc<Auditor>,
    backend: Arc<dyn VerifyBackend>,
    range: &AuditRange,
    mut on_finding: impl FnMut(&Finding) -> Result<(), LogError>,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Summary, AuditError> {
    let started = Instant::now();
    let start = read_resume(range);
    let total = (range.to + 1).saturating_sub(start);
    // Two blocks fetched ahead: fetching overlaps verifying, memory stays bounded.
    let (tx, mut rx) = mpsc::channel::<Result<Prepared, AuditError>>(2);
    let fetcher = Arc::clone(&auditor);
    let to = range.to;
    let producer = tokio::spawn(async move {
        for num in start..=to {
            let prepared = fetcher.prepare(num).await;
            let failed = prepared.is_err();
            if tx.send(prepared).await.is_err() || failed {
                return;
            }
        }
    });
    let cache = Arc::new(KeyCache::default());
    let mut summary = Summary::default();
    let mut signatures = 0u64;
    let outcome = async {
        while let Some(prepared) = rx.recv().await {
            let Prepared {
                block,
                rsa,
                findings,
                counts,
            } = prepared?;
            let (cache, backend) = (Arc::clone(&cache), Arc::clone(&backend));
            let (rsa, verdicts) = tokio::task::spawn_blocking(move || {
                let verdicts = verify_local(&rsa, &cache, backend.as_ref());
                (rsa, verdicts)
            })
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
            for finding in &findings {
                on_finding(finding)?;
                summary.findings += 1;
            }
            for (work, ok) in rsa.iter().zip(&verdicts) {
                if !ok {
                    let finding = auditor.confirm(work).await;
                    on_finding(&finding)?;
                    summary.findings += 1;
                }
            }
            signatures += rsa.len() as u64;
            summary.blocks += 1;
            summary.counts += counts;
            if let Some(path) = &range.resume_file
                && let Err(source) = std::fs::write(path, format!("{}\n", block + 1))
            {
                return Err(AuditError::Log(LogError {
                    path: path.display().to_string(),
                    source,
                }));
            }
            on_progress(&Progress {
                blocks: summary.blocks,
                total,
                signatures,
                elapsed: started.elapsed(),
            });
        }
        Ok(())
    }
    .await;
    producer.abort();
    outcome?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
