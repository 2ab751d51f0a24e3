//! Log set-up for every binary: text or JSON lines on stderr, colours only on a terminal.

use std::io::IsTerminal as _;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, fields, message), for log collectors.
    Json,
}

/// `--log-format`, a global option of every binary.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LogArgs {
    /// Log lines as text or as one JSON object per line (stderr). `IXI_LOG` sets the level.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Logs to stderr at `default` level; `IXI_LOG` sets another (error, warn, info, debug, trace).
/// Colour codes only when stderr is a terminal and `NO_COLOR` is not set.
pub fn init_logging(default: tracing::Level, format: LogFormat) {
    let level = std::env::var("IXI_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(default);
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .with_ansi(colour);
    // A second set-up in one process (tests) keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
