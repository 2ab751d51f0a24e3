//! The HTTP endpoint from a test's side: plain `GET`s over a socket, `/metrics` parsed by an
//! independent Prometheus text-format parser, and a browser that loads the dashboard.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cli::assert_success;

/// One answer: status, content type, body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// `GET path` on `addr` (HTTP/1.1, one request per connection).
///
/// # Errors
/// The connection's or the answer's I/O error, or an answer that is not HTTP.
pub fn get(addr: SocketAddr, path: &str) -> std::io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {text:?}")))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status in {head:?}")))?;
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Answer {
        status,
        content_type: header("content-type").unwrap_or_default(),
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// A loopback TCP port free now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `GET path` answers 200 (at most `timeout`).
pub fn wait_for(addr: SocketAddr, path: &str, timeout: Duration) -> Answer {
    let started = Instant::now();
    loop {
        match get(addr, path) {
            Ok(a) if a.status == 200 => return a,
            other => assert!(
                started.elapsed() < timeout,
                "{path} on {addr} not served within {timeout:?}: {other:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `/v1/status` as JSON.
pub fn status(addr: SocketAddr) -> serde_json::Value {
    let a = get(addr, "/v1/status").unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.content_type.starts_with("application/json"), "{a:?}");
    serde_json::from_str(&a.body).unwrap()
}

/// One scrape of `/metrics`, parsed: metric name → its samples' (labels, value). A
/// histogram's value is its count (the `+Inf` bucket).
pub type Metrics = BTreeMap<String, Vec<(BTreeMap<String, String>, f64)>>;

/// Scrapes `/metrics` and parses it with `prometheus-parse`.
pub fn scrape(addr: SocketAddr) -> Metrics {
    let a = get(addr, "/metrics").unwrap();
    assert_eq!(a.status, 200, "{a:?}");
    assert!(a.content_type.starts_with("text/plain"), "{a:?}");
    let parsed = prometheus_parse::Scrape::parse(a.body.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let mut out = Metrics::new();
    for s in parsed.samples {
        let value = match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => buckets
                .iter()
                .find(|b| b.less_than.is_infinite())
                .map_or(f64::NAN, |b| b.count),
            prometheus_parse::Value::Summary(_) => f64::NAN,
        };
        let labels: BTreeMap<String, String> = s
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.entry(s.metric).or_default().push((labels, value));
    }
    out
}

/// The sum of a metric's samples (0 when it has none).
pub fn total(metrics: &Metrics, name: &str) -> f64 {
    metrics
        .get(name)
        .map_or(0.0, |s| s.iter().map(|(_, v)| v).sum())
}

/// The sum of a JSON object's values, each a count (a status's counts by kind, say).
pub fn sum_of_counts(object: &serde_json::Value) -> u64 {
    object
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum()
}

/// The headless browser: Debian's `chromium` on the path. `None` (with the reason printed)
/// when there is none and `REQUIRE_BROWSER` is not set; a failure when it is.
pub fn browser() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    });
    if found.is_none() {
        assert!(
            std::env::var_os("REQUIRE_BROWSER").is_none(),
            "REQUIRE_BROWSER is set but no chromium is on the PATH (apt-get install chromium)"
        );
        eprintln!("skipped the browser check: no chromium on the PATH (apt-get install chromium)");
    }
    found
}

/// What the browser made of a page: the DOM after `budget` of virtual time, and its log.
pub struct Loaded {
    pub dom: String,
    pub log: String,
}

fn browser_command(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1400,2400",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Loads `url` in the headless browser (a new profile) and dumps its DOM after `budget` of
/// virtual time (timers run, the page's own fetches are real); with `screenshot`, also writes
/// a PNG of the page there.
pub fn load(browser: &Path, url: &str, budget: Duration, screenshot: Option<&Path>) -> Loaded {
    let profile = crate::process::scratch_dir("browser");
    let budget_ms = budget.as_millis().to_string();
    let out = browser_command(browser, &profile)
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .args(["--dump-dom", url])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_success(&out);
    if let Some(path) = screenshot {
        let shot = browser_command(browser, &profile)
            .arg(format!("--virtual-time-budget={budget_ms}"))
            .arg(format!("--screenshot={}", path.display()))
            .arg(url)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_success(&shot);
    }
    let _ = std::fs::remove_dir_all(&profile);
    Loaded {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        log: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
