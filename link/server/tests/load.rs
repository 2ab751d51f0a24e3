//! 256 authorized worker sessions on one link in one process, over real QUIC on loopback:
//! nothing lost, nothing answered twice, every answer the right one.

use std::time::{Duration, Instant};

use ixi_test_support::chain::Shape;
use ixi_test_support::load::{LoadConfig, LoadRun};

/// 128 miners and 128 verifiers; 12 blocks of 22 + 2 signatures give 266 signatures, two to a
/// batch, so every verifier answers at least one.
const CONFIG: LoadConfig = LoadConfig {
    miners: 128,
    verifiers: 128,
    valid_solutions: 8,
    below_target_per_miner: 2,
    wave: 32,
    blocks: 12,
    shape: Shape {
        signatures: 22,
        transactions: 2,
        distinct_solutions: false,
    },
    broken_signatures: &[(3, 5), (11, 0)],
};

#[test]
fn two_hundred_fifty_six_sessions_lose_nothing_and_answer_nothing_twice() {
    let started = Instant::now();
    let prepared = CONFIG.prepare();
    let prepared_in = started.elapsed();
    // The link on a runtime of its own, as in the benchmark.
    let link_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let workers_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = link_runtime.handle().clone();
    let (outcome, retries, connected_in) = workers_runtime.block_on(async move {
        let mut run = LoadRun::start(prepared, &handle).await;
        let connecting = Instant::now();
        let retries = run.connect().await;
        let connected_in = connecting.elapsed();
        let stats = run.link().stats().borrow().clone();
        assert_eq!(
            (stats.miners, stats.verifiers),
            (CONFIG.miners, CONFIG.verifiers)
        );
        (
            run.work(Duration::from_millis(500)).await,
            retries,
            connected_in,
        )
    });
    eprintln!(
        "load: chain and solutions in {prepared_in:?}, {} sessions connected in {connected_in:?} \
         ({retries} attempts retried), whole run {:?}",
        CONFIG.miners + CONFIG.verifiers,
        started.elapsed()
    );
    outcome.check(&CONFIG);
    assert_eq!(CONFIG.verify_items(), 266);
    workers_runtime.shutdown_timeout(Duration::from_secs(1));
    link_runtime.shutdown_timeout(Duration::from_secs(1));
}

/// 3000 handshakes that never finish, from 16 source ports, at 3000/s: the link holds at most
/// its handshake limit of them at any moment, none once the handshake timeout has passed, and
/// a worker connects meanwhile and after.
#[test]
fn a_flood_of_unfinished_handshakes_holds_no_state_and_keeps_the_link_open() {
    use ixi_link_server::server::MAX_HANDSHAKES;
    use ixi_link_transport::tls::IDLE_TIMEOUT;
    use ixi_test_support::flood::{FloodConfig, flood};

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let node = crate::support::StandIn::start(crate::gateway::behaviour(90)).await;
        let link_id = ixi_link_transport::Identity::generate("ixi-link").unwrap();
        let miner_id = ixi_link_transport::Identity::generate("miner").unwrap();
        let pins = std::sync::Arc::new(std::sync::RwLock::new(
            ixi_link_transport::AuthorizedPins::from_pins([miner_id.pin()]),
        ));
        let mut gateway = ixi_link_server::gateway::GatewayConfig::new(&node.url);
        gateway.poll_interval = Duration::from_millis(100);
        let link = ixi_link_server::LinkServer::start(
            &link_id,
            pins,
            std::sync::Arc::new(ixi_link_server::gateway::Gateway::new(gateway).unwrap()),
            ixi_link_server::ServerConfig::new("127.0.0.1:0".parse().unwrap()),
        )
        .await
        .unwrap();
        let target = link.local_addr().unwrap();
        for answer_retry in [false, true] {
            let config = FloodConfig {
                target,
                link_pin: link_id.pin(),
                handshakes: 3000,
                sockets: 16,
                rate: 3000.0,
                answer_retry,
            };
            let flooding = tokio::task::spawn_blocking(move || flood(&config));
            let mut most = 0;
            while !flooding.is_finished() {
                most = most.max(link.open_connections());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let report = flooding.await.unwrap();
            assert_eq!(report.started, 3000);
            // Past a few handshakes in progress, unvalidated addresses get a stateless Retry.
            assert!(report.retries > 2000, "{report:?}");
            assert!(
                most <= MAX_HANDSHAKES,
                "{most} connections held during the flood"
            );

            // A worker still gets in.
            let mut options = ixi_link_worker::client::WorkerOptions::new(
                target.to_string(),
                link_id.pin(),
                ixi_link_proto::Role::Miner,
                "after-flood".into(),
            );
            options.backoff.initial = Duration::from_millis(50);
            let mut miner = ixi_link_worker::client::spawn_worker(miner_id.clone(), options);
            tokio::time::timeout(IDLE_TIMEOUT * 3, async {
                loop {
                    if let Some(ixi_link_worker::client::LinkUpdate::Received(
                        ixi_link_proto::Message::Job(_),
                    )) = miner.recv().await
                    {
                        return;
                    }
                }
            })
            .await
            .expect("a worker gets a job after the flood");
            miner.shutdown().await;

            // Every unfinished handshake is dropped at the handshake timeout.
            let flood_end = Instant::now();
            while link.open_connections() > 0 {
                assert!(
                    flood_end.elapsed() < IDLE_TIMEOUT * 3,
                    "{} connections still held",
                    link.open_connections()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            eprintln!(
                "flood (answer_retry {answer_retry}): {report:?}, at most {most} held, \
                 none after {:?}",
                flood_end.elapsed()
            );
        }
        link.shutdown().await;
    });
}
