//! Real QUIC on 127.0.0.1: pinned keys both ways, sessions over the framed stream.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ixi_link_proto::{
    Event, Hello, Job, Message, PROTOCOL_VERSION, Role, Session, SessionConfig, VerifyBatch,
    Welcome,
};
use ixi_link_transport::transport::{self, FramedStream};
use ixi_link_transport::{AuthorizedPins, CloseCode, Identity, SessionEnd, SessionOwner, drive};

/// The link's side of a test session: on the Hello, a Welcome and a Job.
struct Greeter;

impl SessionOwner for Greeter {
    type Input = ();

    async fn next_input(&mut self) -> Option<()> {
        // Nothing to hand in: the session runs until the peer goes.
        std::future::pending().await
    }

    fn on_input(&mut self, _: &mut Session, _: Instant, (): ()) {}

    fn on_event(&mut self, session: &mut Session, now: Instant, event: Event) {
        if let Event::Message(Message::Hello(_)) = event {
            session
                .send(
                    now,
                    Welcome {
                        session_id: 1,
                        nonce_prefix: vec![0x01],
                    },
                )
                .unwrap();
            session.send(now, job()).unwrap();
        }
    }
}

fn job() -> Job {
    Job {
        job_id: 7,
        block_height: 99,
        challenge_prefix: vec![5; 178],
        min_difficulty_raw: vec![1],
        best_difficulty_raw: vec![],
        replace_now: false,
    }
}

/// Serves one driven session per connection. Runs until the endpoint closes.
async fn serve(endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(async move {
            // Unauthorized workers fail here.
            let Ok(connection) = incoming.await else {
                return;
            };
            let Ok(stream) = FramedStream::accept(&connection).await else {
                return;
            };
            let session = Session::link(Instant::now(), SessionConfig::default());
            drive(&connection, stream, session, &mut Greeter).await;
        });
    }
}

struct Link {
    addr: SocketAddr,
    identity: Identity,
    endpoint: quinn::Endpoint,
}

fn start_link(authorized: &[&Identity]) -> Link {
    let identity = Identity::generate("ixi-link").unwrap();
    let pins = AuthorizedPins::from_pins(authorized.iter().map(|w| w.pin()));
    let endpoint = transport::listen(
        "127.0.0.1:0".parse().unwrap(),
        &identity,
        Arc::new(RwLock::new(pins)),
    )
    .unwrap();
    let addr = endpoint.local_addr().unwrap();
    tokio::spawn(serve(endpoint.clone()));
    Link {
        addr,
        identity,
        endpoint,
    }
}

/// The worker's side of a test session: collects messages, ends after two.
#[derive(Default)]
struct Collector {
    messages: Vec<Message>,
}

impl SessionOwner for Collector {
    type Input = ();

    async fn next_input(&mut self) -> Option<()> {
        if self.messages.len() >= 2 {
            None
        } else {
            // Woken again after each event: the driver polls this afresh every turn.
            tokio::time::sleep(Duration::from_millis(10)).await;
            Some(())
        }
    }

    fn on_input(&mut self, _: &mut Session, _: Instant, (): ()) {}

    fn on_event(&mut self, _: &mut Session, _: Instant, event: Event) {
        if let Event::Message(m) = event {
            self.messages.push(m);
        }
    }
}

/// Runs a driven miner session until it has been welcomed and got a job, or fails.
async fn run_worker(link: &Link, worker: &Identity) -> Result<Vec<Message>, String> {
    let connection = transport::connect(link.addr, worker, link.identity.pin())
        .await
        .map_err(|e| e.to_string())?;
    let stream = FramedStream::open(&connection)
        .await
        .map_err(|e| e.to_string())?;
    let hello = Hello {
        role: Role::Miner,
        protocol_version: PROTOCOL_VERSION,
        worker_name: "w".into(),
        backends: vec!["soft".into()],
        measured_rate: 1.0,
    };
    let session = Session::worker(Instant::now(), SessionConfig::default(), hello);
    let mut collector = Collector::default();
    match drive(&connection, stream, session, &mut collector).await {
        SessionEnd::Shutdown => Ok(collector.messages),
        other => Err(other.to_string()),
    }
}

#[tokio::test]
async fn an_authorized_worker_is_welcomed_and_gets_jobs() {
    let worker = Identity::generate("worker").unwrap();
    let link = start_link(&[&worker]);
    let messages = tokio::time::timeout(Duration::from_secs(20), run_worker(&link, &worker))
        .await
        .expect("in time")
        .expect("session");
    assert_eq!(
        messages,
        [
            Message::Welcome(Welcome {
                session_id: 1,
                nonce_prefix: vec![0x01]
            }),
            Message::Job(job())
        ]
    );
    link.endpoint.close(0u32.into(), b"done");
}

#[tokio::test]
async fn an_unauthorized_worker_is_refused_while_others_work() {
    let good = Identity::generate("good").unwrap();
    let stranger = Identity::generate("stranger").unwrap();
    let link = start_link(&[&good]);
    let refused = tokio::time::timeout(Duration::from_secs(20), run_worker(&link, &stranger))
        .await
        .expect("refusal in time");
    let err = refused.expect_err("an unauthorized worker must not get a session");
    assert!(!err.is_empty());
    let messages = tokio::time::timeout(Duration::from_secs(20), run_worker(&link, &good))
        .await
        .expect("in time")
        .expect("the authorized worker still works");
    assert!(matches!(messages[0], Message::Welcome(_)));
}

#[test]
fn close_codes_round_trip() {
    for code in [
        CloseCode::Shutdown,
        CloseCode::SessionClosed,
        CloseCode::NotAuthorized,
        CloseCode::NoSession,
    ] {
        assert_eq!(CloseCode::from_code(u64::from(code.code())), Some(code));
    }
    assert_eq!(CloseCode::from_code(99), None);
}

#[tokio::test]
async fn a_worker_refuses_a_link_with_another_pin() {
    let worker = Identity::generate("worker").unwrap();
    let link = start_link(&[&worker]);
    let impostor_pin = Identity::generate("impostor").unwrap().pin();
    let err = transport::connect(link.addr, &worker, impostor_pin)
        .await
        .expect_err("wrong pin must fail");
    assert!(err.to_string().contains("pin"), "{err}");
}

#[tokio::test]
async fn messages_cross_a_raw_framed_stream() {
    let worker = Identity::generate("worker").unwrap();
    let link_id = Identity::generate("ixi-link").unwrap();
    let endpoint = transport::listen(
        "127.0.0.1:0".parse().unwrap(),
        &link_id,
        Arc::new(RwLock::new(AuthorizedPins::from_pins([worker.pin()]))),
    )
    .unwrap();
    let addr = endpoint.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let connection = endpoint.accept().await.unwrap().await.unwrap();
        let mut stream = FramedStream::accept(&connection).await.unwrap();
        let m = stream.recv().await.unwrap().unwrap();
        stream.send(&m).await.unwrap();
        stream.finish();
        // Wait for the echo to be read before the connection goes away.
        let _ = stream.recv().await;
    });
    let connection = transport::connect(addr, &worker, link_id.pin())
        .await
        .unwrap();
    let mut stream = FramedStream::open(&connection).await.unwrap();
    let batch = Message::VerifyBatch(VerifyBatch {
        batch_id: 5,
        items: vec![
            ixi_link_proto::VerifyItem {
                key: vec![1; 528],
                message: vec![2; 44],
                signature: vec![3; 512],
            };
            200
        ],
    });
    stream.send(&batch).await.unwrap();
    assert_eq!(stream.recv().await.unwrap(), Some(batch));
    stream.finish();
    server.await.unwrap();
}

#[test]
fn identities_and_authorizations_persist() {
    let dir = std::env::temp_dir().join(format!("ixi-link-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (a, created) = Identity::load_or_create(&dir, "ixi-link").unwrap();
    assert!(created);
    let (b, created) = Identity::load_or_create(&dir, "ixi-link").unwrap();
    assert!(!created);
    assert_eq!(a.pin(), b.pin());
    let worker = Identity::generate("w").unwrap().pin();
    let mut pins = AuthorizedPins::load(&dir).unwrap();
    assert!(!pins.contains(&worker));
    assert!(pins.authorize(&dir, worker).unwrap());
    assert!(AuthorizedPins::load(&dir).unwrap().contains(&worker));
    assert_eq!(
        worker
            .to_string()
            .parse::<ixi_link_transport::Pin>()
            .unwrap(),
        worker
    );
    assert!("zz".parse::<ixi_link_transport::Pin>().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
