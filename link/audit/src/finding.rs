//! Findings: disagreements with the node, one JSON line each.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use serde_json::{Value, json};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// A block signature's RSA signature does not verify.
    BlockSignature,
    /// A block signature's PoW solution is wrong (window, hash, difficulty, minimum).
    PowSolution,
    /// A transaction's key, address binding or signature is wrong.
    Transaction,
    /// The signers' difficulties do not sum to `"Total Signer Difficulty"`.
    BlockTotal,
}

impl FindingKind {
    /// Every kind.
    pub const ALL: [Self; 4] = [
        Self::BlockSignature,
        Self::PowSolution,
        Self::Transaction,
        Self::BlockTotal,
    ];

    /// The name in the JSON lines: `blockSignature`, `powSolution`, `transaction`, `blockTotal`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BlockSignature => "blockSignature",
            Self::PowSolution => "powSolution",
            Self::Transaction => "transaction",
            Self::BlockTotal => "blockTotal",
        }
    }

    /// Whether it is about an RSA signature (the node's `verify` can confirm it).
    #[must_use]
    pub fn is_signature(self) -> bool {
        matches!(self, Self::BlockSignature | Self::Transaction)
    }
}

/// One disagreement with the node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// The block.
    pub block: u64,
    /// What it is about.
    pub kind: FindingKind,
    /// Position in the block's signature or transaction list; `None` for a block total.
    pub index: Option<usize>,
    /// The signer's address or the transaction id (empty for a block total).
    pub id: String,
    /// A short text.
    pub reason: String,
    /// The node's own `verify` agrees the signature is invalid (`Some(true)`), says it is
    /// valid (`Some(false)`), or could not be asked / was not asked (`None`).
    pub node_confirms: Option<bool>,
}

impl Finding {
    /// A finding not (yet) confirmed by the node.
    #[must_use]
    pub fn new(
        block: u64,
        kind: FindingKind,
        index: Option<usize>,
        id: &str,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            block,
            kind,
            index,
            id: id.to_owned(),
            reason: reason.into(),
            node_confirms: None,
        }
    }

    /// The JSON line's object: `block`, `kind`, `index`, `id`, `reason`, `nodeConfirms`.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "block": self.block,
            "kind": self.kind.as_str(),
            "index": self.index,
            "id": self.id,
            "reason": self.reason,
            "nodeConfirms": self.node_confirms,
        })
    }

    /// The identity of what it is about: block, kind and index.
    #[must_use]
    pub fn key(&self) -> (u64, FindingKind, Option<usize>) {
        (self.block, self.kind, self.index)
    }
}

/// Why the audit log cannot be written.
#[derive(Debug, thiserror::Error)]
#[error("audit log {path}: {source}")]
pub struct LogError {
    /// The file.
    pub path: String,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// The `--audit-log` file: one JSON line per finding, appended and flushed before the finding
/// is counted, so a count never includes a finding that is not on disk.
#[derive(Debug)]
pub struct FindingLog {
    file: Option<(File, String)>,
    count: u64,
    warn: bool,
}

impl FindingLog {
    /// A log appending to `path`, or counting only.
    ///
    /// # Errors
    /// [`LogError`] when the file cannot be opened.
    pub fn open(path: Option<&Path>) -> Result<Self, LogError> {
        let file = match path {
            None => None,
            Some(p) => Some((
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .map_err(|source| LogError {
                        path: p.display().to_string(),
                        source,
                    })?,
                p.display().to_string(),
            )),
        };
        Ok(Self {
            file,
            count: 0,
            warn: true,
        })
    }

    /// Whether each finding is also logged at WARN (on by default; the devnet, whose
    /// findings are its own deliberate corruptions, turns it off).
    #[must_use]
    pub fn with_warn(mut self, warn: bool) -> Self {
        self.warn = warn;
        self
    }

    /// Writes, flushes, logs at WARN, then counts the finding.
    ///
    /// # Errors
    /// [`LogError`] when writing fails (the finding is then not counted).
    pub fn record(&mut self, finding: &Finding) -> Result<(), LogError> {
        if let Some((file, path)) = &mut self.file {
            let line = format!("{}\n", finding.to_json());
            file.write_all(line.as_bytes())
                .and_then(|()| file.flush())
                .map_err(|source| LogError {
                    path: path.clone(),
                    source,
                })?;
        }
        if self.warn {
            tracing::warn!(
                block = finding.block,
                kind = finding.kind.as_str(),
                index = ?finding.index,
                id = %finding.id,
                node_confirms = ?finding.node_confirms,
                "finding: {}",
                finding.reason
            );
        }
        self.count += 1;
        Ok(())
    }

    /// Findings recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }
}
