//! Log set-up for every binary.

/// Logs to stderr at `default` level; `IXI_LOG` sets another (error, warn, info, debug, trace).
pub fn init_logging(default: tracing::Level) {
    let level = std::env::var("IXI_LOG")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(default);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(false)
        .init();
}
