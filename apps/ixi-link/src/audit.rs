//! `ixi-link audit`: re-checks blocks A..=B of a node through its API and reports every
//! disagreement. Exit status: 0 no findings, 1 findings, 2 an error (node unreachable after
//! retries, a block missing or malformed, bad arguments).

use crate::serve::NodeAuthArgs;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use ixi_cli_common::engine::{parse_backend, parse_threads, threads_or_all};
use ixi_link_audit::runner::{self, AuditRange};
use ixi_link_audit::{Auditor, FindingLog, RetryPolicy, Rules};
use ixi_node_api::{ClientConfig, NodeClient};
use ixi_verifier::backend::{self, BackendChoice, BackendKind};

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// The Ixian node's HTTP API.
    #[arg(long)]
    node: String,
    /// First block.
    #[arg(long)]
    from: u64,
    /// Last block (included).
    #[arg(long)]
    to: u64,
    /// Verification threads, 1 to 1024 (default: one per core).
    #[arg(long, value_parser = parse_threads)]
    threads: Option<std::num::NonZeroUsize>,
    /// The verification engine.
    #[arg(long, env = "IXI_VERIFIER_BACKEND", default_value = "auto", value_parser = parse_backend::<BackendKind>)]
    backend: BackendChoice,
    #[command(flatten)]
    auth: NodeAuthArgs,
    /// One JSON line per finding on stdout, then a summary line.
    #[arg(long)]
    json: bool,
    /// Keep the next block to audit in this file and start from it: an interrupted audit
    /// resumes where it stopped. Without it, every run does the whole range.
    #[arg(long)]
    resume_file: Option<PathBuf>,
    /// Also append the findings to this file (JSON lines, flushed before they count).
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// The floor of the minimum signer difficulty: the consensus 10000000; lower only to
    /// audit a test chain mined at a low difficulty.
    #[arg(long, default_value = "10000000")]
    signer_floor: String,
}

/// Runs the audit; `Ok(true)` when there were findings.
pub(crate) fn run(args: &AuditArgs) -> anyhow::Result<bool> {
    if args.from > args.to {
        anyhow::bail!("--from {} is after --to {}", args.from, args.to);
    }
    let features = ixi_kernels::cpu::CpuFeatures::detect();
    let kind = args.backend.resolve(&features).context("--backend")?;
    let threads = threads_or_all(args.threads);
    let engine: Arc<dyn backend::VerifyBackend> = backend::create(kind, &features, threads)?.into();
    let mut config = ClientConfig::new(&args.node);
    config.timeout = Duration::from_secs(30);
    config.credentials = args.auth.credentials()?;
    let client = NodeClient::new(&config).context("--node")?;
    let floor: ixi_formats::number::IxiNumber = args
        .signer_floor
        .parse()
        .with_context(|| format!("--signer-floor {:?}", args.signer_floor))?;
    let auditor = Arc::new(Auditor::new(
        client,
        Rules { floor },
        RetryPolicy::default(),
    ));
    let range = AuditRange {
        from: args.from,
        to: args.to,
        resume_file: args.resume_file.clone(),
    };
    let mut log = FindingLog::open(args.audit_log.as_deref())?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(args.to - args.from + 1);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} blocks  {msg}  ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let json = args.json;
    let runtime = super::runtime()?;
    let summary = runtime.block_on(runner::run(
        auditor,
        engine,
        &range,
        |finding| {
            log.record(finding)?;
            let mut out = std::io::stdout().lock();
            let line = if json {
                finding.to_json().to_string()
            } else {
                format!(
                    "block {} {} {}{}: {} (node confirms: {})",
                    finding.block,
                    finding.kind.as_str(),
                    finding.index.map_or_else(String::new, |i| format!("#{i} ")),
                    finding.id,
                    finding.reason,
                    finding
                        .node_confirms
                        .map_or("unknown", |c| if c { "yes" } else { "no" })
                )
            };
            // A closed stdout is not the audit's failure; the log and the count still hold.
            let _ = writeln!(out, "{line}");
            Ok(())
        },
        |p| {
            if let Some(bar) = &bar {
                let secs = p.elapsed.as_secs_f64().max(1e-3);
                bar.set_length(p.total);
                bar.set_position(p.blocks);
                // Rates for the operator: far below 2^53.
                #[allow(clippy::cast_precision_loss)]
                bar.set_message(format!(
                    "{:.1} blocks/s  {:.0} signatures/s",
                    p.blocks as f64 / secs,
                    p.signatures as f64 / secs
                ));
            }
        },
    ));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", summary.to_json())?;
    } else {
        writeln!(
            out,
            "audited blocks {}..={} in {:.1} s: {} block signatures, {} PoW solutions, {} transactions ({} never verified: types 2 and 3), {} findings",
            args.from,
            args.to,
            summary.seconds,
            summary.counts.block_signatures,
            summary.counts.pow_solutions,
            summary.counts.transactions,
            summary.counts.skipped,
            summary.findings
        )?;
    }
    Ok(summary.findings > 0)
}
