//! The link as a service: its HTTP endpoint (metrics parsed by a Prometheus text parser, the
//! status, the dashboard in a headless browser) on a running devnet, and `serve` under a
//! service manager (READY=1 and STOPPING=1 on a notify socket, SIGTERM → exit 0 within 10 s).

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ixi_test_support::http::{self, Metrics, total};
use ixi_test_support::process::{self, Killed, temp_dir, terminate};

use super::{free_udp_addr, init_json, link, serve_simulated};

/// Every metric the issue names, with the labels each must carry.
const NAMES: [(&str, &[&str]); 14] = [
    ("ixi_link_workers", &["role"]),
    ("ixi_link_solutions_total", &["verdict"]),
    ("ixi_link_best_difficulty", &[]),
    ("ixi_link_node_up", &[]),
    ("ixi_link_node_height", &[]),
    ("ixi_link_signatures_verified_total", &["kind"]),
    ("ixi_link_audit_findings_total", &["kind"]),
    ("ixi_miner_attempts_total", &["device"]),
    ("ixi_miner_hashrate", &["device", "window"]),
    ("ixi_miner_solutions_total", &[]),
    ("ixi_miner_device_faults_total", &["device"]),
    ("ixi_verifier_verifications_total", &["key_bits"]),
    ("ixi_verifier_batch_seconds", &[]),
    ("process_start_time_seconds", &[]),
];

/// The value of a metric without labels.
fn single(m: &Metrics, name: &str) -> f64 {
    let samples = &m[name];
    assert_eq!(samples.len(), 1, "{name}: {samples:?}");
    samples[0].1
}

fn value(m: &Metrics, name: &str, label: (&str, &str)) -> f64 {
    m[name]
        .iter()
        .find(|(labels, _)| labels.get(label.0).map(String::as_str) == Some(label.1))
        .unwrap_or_else(|| panic!("{name} has no {label:?} sample: {:?}", m[name]))
        .1
}

#[test]
fn a_devnet_serves_metrics_a_status_and_a_live_dashboard() {
    let _heavy = process::heavy();
    let port = http::free_port();
    let mut child = Killed(
        link()
            .args([
                "devnet",
                "--block-seconds",
                "1",
                "--min-difficulty",
                "1000000",
            ])
            .args([
                "--block-signatures",
                "12",
                "--transactions",
                "2",
                "--corrupt-percent",
                "20",
            ])
            .args([
                "--signers",
                "2",
                "--http-listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let lines =
        std::thread::spawn(move || stderr.lines().map_while(Result::ok).collect::<Vec<_>>());
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    http::wait_for(addr, "/metrics", Duration::from_secs(120));

    // Wait for work to show: solutions accepted, blocks audited with findings, the node's
    // block total read.
    let started = Instant::now();
    let status = loop {
        let s = http::status(addr);
        let ready = s["solutions"]["accepted"].as_u64() >= Some(1)
            && s["shadow"]["blocksAudited"].as_u64() >= Some(2)
            && s["shadow"]["findings"].as_u64() >= Some(1)
            && s["reward"]["totalSignerDifficulty"].is_string()
            && s["verification"]["signaturesVerified"].as_u64() > Some(0)
            // A miner counts its attempts when a range is done: on a loaded machine the first
            // one may take seconds.
            && s["workers"].as_array().is_some_and(|ws| {
                ws.iter().any(|w| w["role"] == "miner" && w["rate"]["10s"].as_f64() > Some(0.0))
            })
            && s["miner"]["attempts"].as_u64() > Some(0);
        if ready {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no work shown: {s:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // The status: the node, each worker, blocks with verdicts, verification, findings, the
    // reward estimate, the in-process workers' own status, the process.
    assert_eq!(status["role"], "link");
    assert_eq!(status["node"]["state"], "mining", "{status:#}");
    assert_eq!(status["node"]["up"], true);
    assert!(status["node"]["height"].as_u64().unwrap() > 0);
    assert!(status["node"]["minDifficulty"].is_string());
    let workers = status["workers"].as_array().unwrap();
    let roles: Vec<&str> = workers
        .iter()
        .map(|w| w["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains(&"miner") && roles.contains(&"verifier"),
        "{workers:?}"
    );
    for w in workers {
        assert_eq!(w["pinPrefix"].as_str().unwrap().len(), 16, "{w}");
        assert_eq!(w["connected"], true);
        for window in ["10s", "60s", "15m"] {
            assert!(w["rate"][window].is_number(), "{w}");
        }
        assert!(w["lastSeenSecondsAgo"].as_f64().unwrap() < 10.0, "{w}");
        assert!(!w["backends"].as_array().unwrap().is_empty(), "{w}");
    }
    let miner = workers.iter().find(|w| w["role"] == "miner").unwrap();
    assert!(miner["rate"]["10s"].as_f64().unwrap() > 0.0, "{miner}");
    let blocks = status["blocks"].as_array().unwrap();
    assert!(
        blocks[0]["current"].as_bool().unwrap(),
        "newest first: {blocks:?}"
    );
    assert!(
        blocks
            .iter()
            .any(|b| b["bestAccepted"].is_string() && b["accepted"].as_u64() >= Some(1)),
        "{blocks:?}"
    );
    assert!(status["verification"]["perSecond"]["60s"].as_f64().unwrap() > 0.0);
    let shadow = &status["shadow"];
    assert_eq!(
        http::sum_of_counts(&shadow["findingsByKind"]),
        shadow["findings"].as_u64().unwrap()
    );
    assert!(!shadow["recentFindings"].as_array().unwrap().is_empty());
    let reward = &status["reward"];
    assert!(reward["bestDifficulty"].is_string(), "{reward:#}");
    let share = reward["shareOfBlock"].as_f64().unwrap();
    assert!(share > 0.0 && share < 1.0, "{reward:#}");
    // The simulated chain starts at a random height, some of them before the schedule.
    let height = reward["height"].as_u64().unwrap();
    if height > 1_802_000 {
        let per_block = reward["ixiPerBlock"].as_f64().unwrap();
        let signing = reward["blockSigningRewardIxi"].as_f64().unwrap();
        assert!(
            (per_block - signing * share).abs() < 1e-9 * signing,
            "{reward:#}"
        );
    } else {
        assert!(reward["ixiPerBlock"].is_null(), "{reward:#}");
    }
    let by_rate = reward["byHashRate"].as_array().unwrap();
    assert_eq!(by_rate.len(), 5);
    let medians: Vec<f64> = by_rate
        .iter()
        .map(|r| r["medianBestDifficulty"].as_f64().unwrap())
        .collect();
    assert!(medians.windows(2).all(|w| w[0] < w[1]), "{medians:?}");
    assert!(
        status["miner"]["devices"]
            .as_array()
            .is_some_and(|d| !d.is_empty())
    );
    assert!(status["verifier"]["verified"].as_u64() > Some(0));
    assert!(status["process"]["uptimeSeconds"].as_f64().unwrap() > 0.0);

    // Metrics: every name present with its labels, and the counters moving while work happens.
    let first = http::scrape(addr);
    for (name, labels) in NAMES {
        let samples = first
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from /metrics: {first:?}"));
        assert!(!samples.is_empty(), "{name}");
        for (sample_labels, _) in samples {
            for label in labels {
                assert!(sample_labels.contains_key(*label), "{name} without {label}");
            }
        }
    }
    let windows: Vec<&str> = first["ixi_miner_hashrate"]
        .iter()
        .map(|(l, _)| l["window"].as_str())
        .collect();
    assert_eq!(windows, ["10s", "60s", "15m"]);
    assert!(value(&first, "ixi_miner_hashrate", ("window", "10s")) > 0.0);
    assert_eq!(single(&first, "ixi_link_node_up"), 1.0);
    assert!(value(&first, "ixi_link_workers", ("role", "miner")) >= 1.0);
    assert!(single(&first, "ixi_link_best_difficulty") >= 1_000_000.0);
    assert!(single(&first, "ixi_link_node_height") > 0.0);
    let start = single(&first, "process_start_time_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(start > now - 600.0 && start <= now, "{start} vs {now}");
    std::thread::sleep(Duration::from_secs(4));
    let second = http::scrape(addr);
    for moving in [
        "ixi_miner_attempts_total",
        "ixi_link_signatures_verified_total",
        "ixi_verifier_verifications_total",
        "ixi_verifier_batch_seconds",
    ] {
        assert!(
            total(&second, moving) > total(&first, moving),
            "{moving} did not move: {} then {}",
            total(&first, moving),
            total(&second, moving)
        );
    }
    for counter in ["ixi_link_solutions_total", "ixi_link_audit_findings_total"] {
        assert!(
            total(&second, counter) >= total(&first, counter),
            "{counter}"
        );
    }

    // The dashboard: self-contained, and in a browser it loads with no error and draws every
    // chart with data points.
    let page = http::get(addr, "/").unwrap();
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"));
    // Nothing from elsewhere: the only URL is the SVG namespace's name.
    let body = page.body.replace("http://www.w3.org/2000/svg", "");
    for outside in ["http://", "https://", " src=", "@import", "url("] {
        assert!(!body.contains(outside), "the page refers to {outside}");
    }
    assert_eq!(http::get(addr, "/nothing").unwrap().status, 404);
    if let Some(browser) = http::browser() {
        let shot = std::env::var_os("IXI_DASHBOARD_SCREENSHOT").map(std::path::PathBuf::from);
        let loaded = http::load(
            &browser,
            &format!("http://{addr}/"),
            Duration::from_secs(12),
            shot.as_deref(),
        );
        let dom = &loaded.dom;
        assert!(dom.contains("data-errors=\"0\""), "page errors: {dom}");
        assert!(!loaded.log.contains("Uncaught"), "{}", loaded.log);
        let refreshes = attribute(dom, "data-refreshes").unwrap_or(0);
        assert!(refreshes >= 2, "the page refreshed {refreshes} times");
        for chart in [
            "chart-hashrate",
            "chart-blocks",
            "chart-solutions",
            "chart-signatures",
            "chart-findings",
        ] {
            let at = dom
                .find(&format!("id=\"{chart}\""))
                .unwrap_or_else(|| panic!("{chart}"));
            let points = attribute(&dom[at..], "data-points").unwrap();
            assert!(points > 0, "{chart} holds no data points");
        }
    }

    // SIGTERM stops the devnet with its summary and no verdict mismatch.
    let status = terminate(&mut child.0, Duration::from_secs(30));
    assert!(status.success(), "{status}: {:?}", lines.join().unwrap());
}

/// The first `name="N"` attribute's number.
fn attribute(text: &str, name: &str) -> Option<u64> {
    let at = text.find(&format!("{name}=\""))? + name.len() + 2;
    text[at..].split('"').next()?.parse().ok()
}

#[cfg(unix)]
#[test]
fn serve_notifies_the_service_manager_and_stops_on_sigterm_with_exit_0() {
    use std::os::unix::net::UnixDatagram;

    let dir = temp_dir("service");
    init_json(&dir);
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(90)))
        .unwrap();
    let port = http::free_port();
    let mut child = Killed(
        serve_simulated(&dir, &free_udp_addr())
            .args(["--http-listen", &format!("127.0.0.1:{port}")])
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "2000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // READY=1 once it serves, then watchdog keep-alives (every second at half of 2 s).
    let mut buf = [0u8; 4096];
    let mut seen = Vec::new();
    while !(seen.iter().any(|l| l == "READY=1")
        && seen.iter().filter(|l| *l == "WATCHDOG=1").count() >= 2)
    {
        let n = socket
            .recv(&mut buf)
            .expect("READY=1 and WATCHDOG=1 in time");
        seen.extend(
            String::from_utf8_lossy(&buf[..n])
                .lines()
                .map(str::to_owned),
        );
    }
    // It serves its endpoint meanwhile.
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let s = http::status(addr);
    assert_eq!(s["role"], "link");
    let status = terminate(&mut child.0, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    let mut stopping = false;
    socket
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    while let Ok(n) = socket.recv(&mut buf) {
        stopping |= String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "STOPPING=1");
    }
    assert!(stopping, "no STOPPING=1 among {seen:?}");
    assert!(
        http::get(addr, "/metrics").is_err(),
        "the endpoint outlived the link"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
