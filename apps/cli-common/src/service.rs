//! Running as a service: the stop signals, and systemd's readiness, watchdog and stopping
//! notifications (sent only when systemd set `NOTIFY_SOCKET`; nothing happens otherwise).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

/// Notifications to the service manager.
#[derive(Debug)]
pub struct Notifier {
    ready: bool,
    /// Half the watchdog interval, when the manager asks for keep-alives.
    ping_every: Option<Duration>,
    last_ping: Option<Instant>,
}

impl Notifier {
    /// A notifier for this process (reads `WATCHDOG_USEC` once).
    #[must_use]
    pub fn from_env() -> Self {
        Self {
            ready: false,
            ping_every: sd_notify::watchdog_enabled().map(|d| d / 2),
            last_ping: None,
        }
    }

    fn send(state: &[NotifyState<'_>]) {
        // Without NOTIFY_SOCKET this does nothing; a failed send only loses a notification,
        // which the manager handles (a missing READY times out, a missing WATCHDOG restarts).
        if let Err(e) = sd_notify::notify(state) {
            tracing::debug!("service notification not sent: {e}");
        }
    }

    /// `READY=1`, once: the process serves (the link) or holds work (a worker).
    pub fn ready(&mut self) {
        if !self.ready {
            self.ready = true;
            Self::send(&[NotifyState::Ready]);
        }
    }

    /// `WATCHDOG=1` when half the watchdog interval has passed. Call from the loops whose
    /// liveness it vouches for, at least that often.
    pub fn alive(&mut self) {
        let Some(every) = self.ping_every else {
            return;
        };
        let now = Instant::now();
        if self
            .last_ping
            .is_none_or(|t| now.duration_since(t) >= every)
        {
            self.last_ping = Some(now);
            Self::send(&[NotifyState::Watchdog]);
        }
    }

    /// `STATUS=...`: a line `systemctl status` shows.
    pub fn status(&self, text: &str) {
        Self::send(&[NotifyState::Status(text)]);
    }

    /// `STOPPING=1`: the process is shutting down.
    pub fn stopping(&self) {
        Self::send(&[NotifyState::Stopping]);
    }
}

/// Calls `each_second` at once and then once a second until the process is asked to stop (see
/// [`stop_signal`]) or `each_second` breaks.
pub async fn each_second_until_stopped(mut each_second: impl FnMut() -> ControlFlow<()>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let stopped = stop_signal();
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            () = &mut stopped => return,
            _ = tick.tick() => {
                if each_second().is_break() {
                    return;
                }
            }
        }
    }
}

/// Resolves when the process is asked to stop: SIGTERM (the service manager) or SIGINT
/// (Ctrl-C). A signal handler that cannot be installed leaves only the other one.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let terminated = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminated => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How long a stopping process may take to deliver what it holds before it exits anyway.
pub const STOP_GRACE: Duration = Duration::from_secs(8);
