//! The link end to end over real QUIC on loopback: the gateway to an HTTP stand-in node,
//! worker clients that reconnect, a restarted link, unauthorized and malformed workers, and a
//! verifier killed mid-batch.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ixi_formats::number::IxiNumber;
use ixi_link_audit::{Auditor, FindingKind, RetryPolicy, Rules};
use ixi_link_proto::session::codes;
use ixi_link_proto::{
    ErrorMessage, Event, Hello, Job, Message, PROTOCOL_VERSION, Role, Session, SessionConfig,
    Solution, SolutionVerdict, Verdict, VerifyBatch, VerifyResult,
};
use ixi_link_server::core::{LinkStats, LocalVerify};
use ixi_link_server::gateway::{Gateway, GatewayConfig};
use ixi_link_server::shadow::ShadowConfig;
use ixi_link_server::source::{Challenge, ForwardOutcome, NodeSource, NodeState};
use ixi_link_server::{LinkExtras, LinkServer, ServerConfig};
use ixi_link_transport::transport::{self, FramedStream};
use ixi_link_transport::{AuthorizedPins, Identity};
use ixi_link_worker::client::{
    Backoff, Disconnect, LinkUpdate, WorkerHandle, WorkerOptions, spawn_worker,
};
use ixi_node_api::{ClientConfig, NodeClient};
use ixi_test_support::chain::{Shape, TestChain};
use ixi_test_support::node::NodeStandIn;
use ixi_test_support::udp_relay::UdpRelay;
use ixi_verifier::KeyCache;

use crate::gateway::behaviour;
use crate::support::{StandIn, find_solutions};

const WAIT: Duration = Duration::from_secs(30);

/// The pins of `workers`, as a link's authorized set (which a test may change later).
fn authorized(workers: &[&Identity]) -> Arc<RwLock<AuthorizedPins>> {
    Arc::new(RwLock::new(AuthorizedPins::from_pins(
        workers.iter().map(|w| w.pin()),
    )))
}

async fn start_link<S: NodeSource>(
    identity: &Identity,
    pins: &Arc<RwLock<AuthorizedPins>>,
    source: Arc<S>,
    listen: SocketAddr,
) -> LinkServer {
    // A restarted link binds the port its predecessor released a moment ago.
    let started = Instant::now();
    loop {
        match LinkServer::start(
            identity,
            Arc::clone(pins),
            Arc::clone(&source),
            ServerConfig::new(listen),
        )
        .await
        {
            Ok(link) => return link,
            Err(e) if started.elapsed() < Duration::from_secs(5) => {
                eprintln!("link not started yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("link not started: {e}"),
        }
    }
}

fn gateway(url: &str) -> Arc<Gateway> {
    let mut config = GatewayConfig::new(url);
    config.poll_interval = Duration::from_millis(100);
    config.timeout = Duration::from_secs(2);
    config.confirm_wait = Duration::from_millis(20);
    Arc::new(Gateway::new(config).unwrap())
}

fn worker(identity: &Identity, link: &LinkServer, link_id: &Identity, role: Role) -> WorkerHandle {
    let mut options = WorkerOptions::new(
        link.local_addr().unwrap().to_string(),
        link_id.pin(),
        role,
        "test".into(),
    );
    options.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(400),
    };
    options.measured_rate = 1000.0;
    spawn_worker(identity.clone(), options)
}

/// The next update matching `pick`, skipping others.
async fn next<T>(w: &mut WorkerHandle, mut pick: impl FnMut(LinkUpdate) -> Option<T>) -> T {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let update = w.recv().await.expect("worker task alive");
            if let Some(t) = pick(update) {
                return t;
            }
        }
    });
    found.await.expect("expected update in time")
}

async fn job(w: &mut WorkerHandle) -> (u64, Vec<u8>, IxiNumber) {
    next(w, |u| match u {
        LinkUpdate::Received(Message::Job(Job {
            job_id,
            challenge_prefix,
            min_difficulty_raw,
            ..
        })) => Some((
            job_id,
            challenge_prefix,
            IxiNumber::from_le_bytes(&min_difficulty_raw).unwrap(),
        )),
        _ => None,
    })
    .await
}

async fn verdict(w: &mut WorkerHandle) -> (Vec<u8>, Verdict) {
    next(w, |u| match u {
        LinkUpdate::Received(Message::SolutionVerdict(SolutionVerdict {
            nonce, verdict, ..
        })) => Some((nonce, verdict)),
        _ => None,
    })
    .await
}

async fn wait_stats(link: &LinkServer, what: impl Fn(&LinkStats) -> bool) -> LinkStats {
    let mut stats = link.stats();
    tokio::time::timeout(WAIT, async {
        loop {
            if what(&stats.borrow_and_update()) {
                return stats.borrow().clone();
            }
            stats.changed().await.unwrap();
        }
    })
    .await
    .expect("stats in time")
}

/// A stand-in node mining block `height`, and a link on a free port serving it to one miner:
/// `(node, link identity, miner identity, link, the link's authorized pins)`.
async fn link_for_one_miner(
    height: u64,
) -> (
    StandIn,
    Identity,
    Identity,
    LinkServer,
    Arc<RwLock<AuthorizedPins>>,
) {
    let node = StandIn::start(behaviour(height)).await;
    let link_id = Identity::generate("ixi-link").unwrap();
    let miner_id = Identity::generate("miner").unwrap();
    let pins = authorized(&[&miner_id]);
    let link = start_link(
        &link_id,
        &pins,
        gateway(&node.url),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    (node, link_id, miner_id, link, pins)
}

/// Options of a miner named `name` that reaches the link only through `relay`.
fn relayed_miner(relay: &UdpRelay, link_id: &Identity, name: &str) -> WorkerOptions {
    WorkerOptions::new(
        relay.addr().to_string(),
        link_id.pin(),
        Role::Miner,
        name.into(),
    )
}

/// Waits until the worker reports its connection lost.
async fn disconnected(w: &mut WorkerHandle) {
    next(w, |u| {
        matches!(u, LinkUpdate::Disconnected { .. }).then_some(())
    })
    .await;
}

/// Shadow verification of the node behind `client` from block `start_at`, with signer floor
/// `floor`.
fn shadow_from(client: &ClientConfig, floor: IxiNumber, start_at: u64) -> ShadowConfig {
    let auditor = Arc::new(Auditor::new(
        NodeClient::new(client).unwrap(),
        Rules { floor },
        RetryPolicy::default(),
    ));
    let mut shadow = ShadowConfig::new(auditor);
    shadow.start_at = Some(start_at);
    shadow.poll_interval = Duration::from_millis(50);
    shadow
}

/// A link on a free port with shadow verification, mining a fixed block, serving `workers`.
async fn start_shadow_link(
    identity: &Identity,
    workers: &[&Identity],
    config: ServerConfig,
    extras: LinkExtras,
) -> LinkServer {
    LinkServer::start_with(
        identity,
        authorized(workers),
        Arc::new(FixedChallenge),
        config,
        extras,
    )
    .await
    .unwrap()
}

/// The scalar RSA backend on one thread.
fn scalar_backend() -> Box<dyn ixi_verifier::backend::VerifyBackend> {
    ixi_verifier::backend::create(
        ixi_verifier::backend::BackendKind::Scalar,
        &ixi_kernels::cpu::CpuFeatures::detect(),
        1,
    )
    .unwrap()
}

#[tokio::test]
async fn solutions_reach_the_node_and_survive_a_link_restart() {
    let (node, link_id, miner_id, link, pins) = link_for_one_miner(300).await;
    let addr = link.local_addr().unwrap();
    let mut miner = worker(&miner_id, &link, &link_id, Role::Miner);
    let (job_id, prefix, min) = job(&mut miner).await;
    let mut found = find_solutions(&prefix, &min, 2, 1);
    found.sort_by(|a, b| a.1.cmp(&b.1));

    // The weaker first: forwarded, taken by the node, confirmed from its status.
    miner.send(Solution {
        job_id,
        nonce: found[0].0.clone(),
    });
    assert_eq!(
        verdict(&mut miner).await,
        (found[0].0.clone(), Verdict::Accepted)
    );
    assert_eq!(node.state.lock().unwrap().stored[&300].0, found[0].0);

    // The link goes away; the miner finds the stronger one meanwhile.
    link.shutdown().await;
    disconnected(&mut miner).await;
    miner.send(Solution {
        job_id,
        nonce: found[1].0.clone(),
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The link comes back on the same address: the queued solution arrives and counts.
    let link = start_link(&link_id, &pins, gateway(&node.url), addr).await;
    assert_eq!(
        verdict(&mut miner).await,
        (found[1].0.clone(), Verdict::Accepted)
    );
    assert_eq!(node.state.lock().unwrap().stored[&300].0, found[1].0);
    let s = wait_stats(&link, |s| s.solutions_accepted == 1).await;
    assert_eq!(s.best_difficulty, Some(found[1].1.clone()));

    // A new block: the miner is told at once.
    node.set(|b| {
        let (_, prefix, min) = b.mining.clone().unwrap();
        b.mining = Some((301, [&[1u8][..], &prefix[1..]].concat(), min));
    });
    let (new_job, _, _) = job(&mut miner).await;
    assert_ne!(new_job, job_id);
    miner.shutdown().await;
    link.shutdown().await;
}

#[tokio::test]
async fn unauthorized_and_malformed_workers_do_not_disturb_the_others() {
    let node = StandIn::start(behaviour(40)).await;
    let link_id = Identity::generate("ixi-link").unwrap();
    let good_id = Identity::generate("good").unwrap();
    let rude_id = Identity::generate("rude").unwrap();
    let stranger_id = Identity::generate("stranger").unwrap();
    let link = start_link(
        &link_id,
        &authorized(&[&good_id, &rude_id]),
        gateway(&node.url),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await;
    let mut good = worker(&good_id, &link, &link_id, Role::Miner);
    let (job_id, prefix, min) = job(&mut good).await;

    // A stranger is refused at the handshake, again on every retry, and told why: never
    // "connected", always "not authorized" with its own pin.
    let mut stranger = worker(&stranger_id, &link, &link_id, Role::Miner);
    for _ in 0..2 {
        let reason = next(&mut stranger, |u| match u {
            LinkUpdate::Disconnected { reason, .. } => Some(reason),
            LinkUpdate::Received(m) => panic!("a stranger got {m:?}"),
            LinkUpdate::Connected(_) => panic!("a stranger was reported connected"),
            _ => None,
        })
        .await;
        assert!(
            matches!(reason, Disconnect::NotAuthorized { pin } if pin == stranger_id.pin()),
            "{reason}"
        );
        let shown = reason.to_string();
        assert!(
            shown.contains("not authorized by the link")
                && shown.contains(&stranger_id.pin().to_string()),
            "{shown}"
        );
    }
    stranger.shutdown().await;

    // An authorized worker sending garbage gets an Error frame and loses its connection.
    let connection = transport::connect(link.local_addr().unwrap(), &rude_id, link_id.pin())
        .await
        .unwrap();
    let mut stream = FramedStream::open(&connection).await.unwrap();
    stream.write(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    let reply = tokio::time::timeout(WAIT, stream.recv())
        .await
        .unwrap()
        .unwrap();
    match reply {
        Some(Message::ErrorMessage(ErrorMessage { code, message })) => {
            assert_eq!(code, codes::MALFORMED);
            assert!(message.contains("magic"), "{message}");
        }
        other => panic!("expected an Error frame, got {other:?}"),
    }
    tokio::time::timeout(WAIT, connection.closed())
        .await
        .unwrap();

    // The good miner works on.
    let found = find_solutions(&prefix, &min, 1, 3);
    good.send(Solution {
        job_id,
        nonce: found[0].0.clone(),
    });
    assert_eq!(verdict(&mut good).await.1, Verdict::Accepted);
    good.shutdown().await;
    link.shutdown().await;
}

/// A node that mines one fixed block; its blocks come from the stand-in of the block API.
struct FixedChallenge;

impl NodeSource for FixedChallenge {
    type Error = std::convert::Infallible;

    async fn poll(&self) -> NodeState {
        NodeState::Mining(Challenge {
            block_height: 1,
            prefix: vec![1; 100],
            min_difficulty: IxiNumber::from_whole(100_000),
        })
    }

    async fn forward(&self, _: u64, _: &[u8], _: &IxiNumber) -> ForwardOutcome<Self::Error> {
        ForwardOutcome::Taken
    }
}

#[tokio::test]
async fn a_verifier_killed_mid_batch_during_shadow_verification_loses_nothing() {
    // Blocks 100..=106 with 6 signatures and 3 transactions each (36 RSA items from block
    // 101 on, plus transactions of block 100), two of them broken.
    let floor = IxiNumber::from_whole(1000);
    let mut chain = TestChain::build(100, 7, Shape::new(6, 3), &floor);
    chain.break_block_signature(102, 4);
    chain.break_transaction_signature(104, 1);
    let node = NodeStandIn::start(chain).await;
    node.state.lock().unwrap().height = 111;
    let shadow = shadow_from(&ClientConfig::new(&node.url), floor, 100);
    let link_id = Identity::generate("ixi-link").unwrap();
    let doomed_id = Identity::generate("doomed").unwrap();
    let steady_id = Identity::generate("steady").unwrap();
    let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap());
    config.dispatch.local = LocalVerify::Never;
    config.dispatch.min_batch = 16;
    let link = start_shadow_link(
        &link_id,
        &[&doomed_id, &steady_id],
        config,
        LinkExtras {
            shadow: Some(shadow),
            local_backend: None,
        },
    )
    .await;

    // The doomed verifier: a raw session that takes its batches and never answers.
    let connection = transport::connect(link.local_addr().unwrap(), &doomed_id, link_id.pin())
        .await
        .unwrap();
    let mut stream = FramedStream::open(&connection).await.unwrap();
    let mut session = Session::worker(
        Instant::now(),
        SessionConfig::default(),
        Hello {
            role: Role::Verifier,
            protocol_version: PROTOCOL_VERSION,
            worker_name: "doomed".into(),
            backends: vec!["none".into()],
            measured_rate: 32.0,
        },
    );
    let (mut held, mut batches) = (0, 0);
    tokio::time::timeout(WAIT, async {
        while batches < 2 {
            while let Some(frame) = session.poll_transmit() {
                stream.write(&frame).await.unwrap();
            }
            let chunk = stream.read_chunk().await.unwrap().unwrap().to_vec();
            session.handle(Instant::now(), &chunk);
            while let Some(e) = session.poll_event() {
                if let Event::Message(Message::VerifyBatch(batch)) = e {
                    held += batch.items.len();
                    batches += 1;
                }
            }
        }
    })
    .await
    .expect("the doomed verifier gets its batches");
    assert!(held > 0 && held < 57, "{held} items held in two batches");

    // The steady verifier verifies everything it gets, for real.
    let mut steady = worker(&steady_id, &link, &link_id, Role::Verifier);
    let answered = Arc::new(Mutex::new(0usize));
    let tx = steady.sender();
    let count = Arc::clone(&answered);
    let answering = tokio::spawn(async move {
        let cache = KeyCache::default();
        let backend = scalar_backend();
        while let Some(update) = steady.recv().await {
            if let LinkUpdate::Received(Message::VerifyBatch(VerifyBatch { batch_id, items })) =
                update
            {
                *count.lock().unwrap() += items.len();
                let keyed: Vec<(&[u8], &[u8], &[u8])> = items
                    .iter()
                    .map(|i| (&i.key[..], &i.message[..], &i.signature[..]))
                    .collect();
                let verdicts = cache.verdicts(&keyed, backend.as_ref());
                let _ = tx.send(VerifyResult { batch_id, verdicts }.into());
            }
        }
    });
    // 3 transactions in block 100, then 6 + 3 per block: 57 items.
    wait_stats(&link, |s| s.signatures_verified >= 1).await;

    // Kill the doomed verifier mid-batch: its 32 go to the steady one.
    connection.close(0u32.into(), b"killed");
    let s = wait_stats(&link, |s| {
        s.shadow.as_ref().is_some_and(|sh| sh.blocks_audited == 7)
    })
    .await;
    assert_eq!(
        s.signatures_verified, 57,
        "every signature answered exactly once"
    );
    assert_eq!(s.batches_redispatched, 2);
    assert_eq!(s.signatures_queued, 0);
    assert_eq!(*answered.lock().unwrap(), 57);
    let report = link.shadow().unwrap().report();
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.block, f.kind, f.index, f.node_confirms))
        .collect();
    assert_eq!(
        found,
        [
            (102, FindingKind::BlockSignature, Some(4), Some(true)),
            (104, FindingKind::Transaction, Some(1), Some(true)),
        ]
    );
    answering.abort();
    link.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_vanishes_is_noticed_within_five_seconds_on_both_sides() {
    let (_node, link_id, miner_id, link, _) = link_for_one_miner(50).await;
    let relay = UdpRelay::start(link.local_addr().unwrap()).await;
    let mut options = relayed_miner(&relay, &link_id, "doomed");
    // Reconnection attempts go nowhere once the relay is cut; keep them out of the way.
    options.backoff = Backoff {
        initial: Duration::from_secs(30),
        max: Duration::from_secs(30),
    };
    let mut miner = spawn_worker(miner_id.clone(), options);
    job(&mut miner).await;
    wait_stats(&link, |s| s.miners == 1).await;

    // Both sides go silent at once, as when either process is killed.
    relay.cut();
    let cut_at = Instant::now();
    disconnected(&mut miner).await;
    let worker_noticed = cut_at.elapsed();
    wait_stats(&link, |s| s.miners == 0).await;
    let link_noticed = cut_at.elapsed();
    assert!(
        worker_noticed < Duration::from_secs(5) && link_noticed < Duration::from_secs(5),
        "worker noticed after {worker_noticed:?}, link after {link_noticed:?}"
    );
    miner.shutdown().await;
    link.shutdown().await;
}

#[tokio::test]
async fn a_deauthorized_worker_loses_its_session_and_is_told_why() {
    let (node, link_id, miner_id, link, pins) = link_for_one_miner(60).await;
    let mut miner = worker(&miner_id, &link, &link_id, Role::Miner);
    let (job_id, prefix, min) = job(&mut miner).await;

    // The operator removes the pin (ixi-link serve reloads authorized.txt into this set).
    *pins.write().unwrap() = AuthorizedPins::default();
    let removed_at = Instant::now();
    let reason = next(&mut miner, |u| match u {
        LinkUpdate::Disconnected { reason, .. } => Some(reason),
        _ => None,
    })
    .await;
    assert!(
        removed_at.elapsed() < Duration::from_secs(10),
        "{:?}",
        removed_at.elapsed()
    );
    assert!(
        matches!(reason, Disconnect::NotAuthorized { pin } if pin == miner_id.pin()),
        "{reason}"
    );
    wait_stats(&link, |s| s.miners == 0).await;

    // What it finds now never reaches the node: it is refused at every reconnection.
    let found = find_solutions(&prefix, &min, 1, 7);
    miner.send(Solution {
        job_id,
        nonce: found[0].0.clone(),
    });
    let again = next(&mut miner, |u| match u {
        LinkUpdate::Disconnected { reason, .. } => Some(reason),
        LinkUpdate::Received(m) => panic!("a deauthorized worker got {m:?}"),
        _ => None,
    })
    .await;
    assert!(matches!(again, Disconnect::NotAuthorized { .. }), "{again}");
    assert_eq!(node.state.lock().unwrap().submissions, 0);
    assert_eq!(link.stats().borrow().solutions_accepted, 0);
    miner.shutdown().await;
    link.shutdown().await;
}

#[tokio::test]
async fn a_stopping_worker_delivers_what_it_found_while_the_link_was_away() {
    let (node, link_id, miner_id, link, _) = link_for_one_miner(70).await;
    let relay = UdpRelay::start(link.local_addr().unwrap()).await;
    let mut miner = spawn_worker(
        miner_id.clone(),
        relayed_miner(&relay, &link_id, "stopping"),
    );
    let (job_id, prefix, min) = job(&mut miner).await;

    // The link goes away; the miner finds a solution meanwhile, and is then told to stop.
    relay.cut();
    disconnected(&mut miner).await;
    let found = find_solutions(&prefix, &min, 1, 9);
    miner.send(Solution {
        job_id,
        nonce: found[0].0.clone(),
    });
    let stopping = Instant::now();
    let finishing = tokio::spawn(miner.finish(Duration::from_secs(6)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.restore();
    finishing.await.unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(6),
        "{:?}",
        stopping.elapsed()
    );
    // It reached the node, and the link's answer ended the wait.
    assert_eq!(node.state.lock().unwrap().submissions, 1);
    wait_stats(&link, |s| s.solutions_accepted == 1).await;
    link.shutdown().await;
}

#[tokio::test]
async fn a_bad_block_from_the_node_is_an_error_and_the_link_serves_on() {
    let floor = IxiNumber::from_whole(1000);
    let chain = TestChain::build(200, 4, Shape::new(2, 1), &floor);
    let node = NodeStandIn::start(chain).await;
    {
        let mut state = node.state.lock().unwrap();
        state.height = 208;
        state.answers.insert(
            202,
            ixi_test_support::node::Answer::RawResult(r#"{"Block Number": "202"}"#.into()),
        );
    }
    let mut client = ClientConfig::new(&node.url);
    client.timeout = Duration::from_secs(2);
    let shadow = shadow_from(&client, floor, 200);
    let link_id = Identity::generate("ixi-link").unwrap();
    let miner_id = Identity::generate("miner").unwrap();
    let link = start_shadow_link(
        &link_id,
        &[&miner_id],
        ServerConfig::new("127.0.0.1:0".parse().unwrap()),
        LinkExtras {
            shadow: Some(shadow),
            local_backend: Some(scalar_backend().into()),
        },
    )
    .await;
    // Verified on the link's own threads (no verifier connected); block 202 is an error.
    let s = wait_stats(&link, |s| {
        s.shadow
            .as_ref()
            .is_some_and(|sh| sh.blocks_audited == 3 && sh.block_errors == 1)
    })
    .await;
    let shadow = s.shadow.unwrap();
    assert_eq!(shadow.findings, 0);
    assert_eq!(s.signatures_verified, s.signatures_verified_locally);
    assert_eq!(s.signatures_verified, 1 + 3 + 3, "blocks 200, 201 and 203");
    assert!(!link.shadow().unwrap().report().audited.contains(&202));
    // Miners are served all along.
    let mut miner = worker(&miner_id, &link, &link_id, Role::Miner);
    let (_, prefix, _) = job(&mut miner).await;
    assert_eq!(prefix, vec![1; 100]);
    miner.shutdown().await;
    link.shutdown().await;
}
