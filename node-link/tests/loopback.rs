//! Real QUIC on 127.0.0.1: pinned keys both ways, sessions over the framed stream.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use ixi_link_proto::session::{LinkEvent, LinkSession, SessionConfig, WorkerEvent, WorkerSession};
use ixi_link_proto::{Message, Role};
use ixi_node_link::transport::{self, FramedStream};
use ixi_node_link::{AuthorizedPins, Identity};

/// Serves one session per connection: Welcome, then a Job. Runs until the endpoint closes.
async fn serve(endpoint: quinn::Endpoint) {
    while let Some(incoming) = endpoint.accept().await {
        tokio::spawn(async move {
            // Unauthorized workers fail here.
            let Ok(connection) = incoming.await else {
                return;
            };
            let Ok(mut stream) = FramedStream::accept(&connection).await else {
                return;
            };
            let mut session = LinkSession::new(Instant::now(), SessionConfig::default());
            while let Ok(Some(chunk)) = stream.read_chunk().await {
                let chunk = chunk.to_vec();
                session.handle(Instant::now(), &chunk);
                while let Some(event) = session.poll_event() {
                    if let LinkEvent::Hello { .. } = event {
                        session.welcome(Instant::now(), 1, vec![0x01]).unwrap();
                        session
                            .send_job(Instant::now(), 7, 99, vec![5; 178], vec![1], vec![], false)
                            .unwrap();
                    }
                }
                while let Some(frame) = session.poll_transmit() {
                    if stream.write(&frame).await.is_err() {
                        return;
                    }
                }
            }
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

/// Runs a miner session until it has been welcomed and got a job, or fails.
async fn run_worker(link: &Link, worker: &Identity) -> Result<Vec<WorkerEvent>, String> {
    let connection = transport::connect(link.addr, worker, link.identity.pin())
        .await
        .map_err(|e| e.to_string())?;
    let mut stream = FramedStream::open(&connection)
        .await
        .map_err(|e| e.to_string())?;
    let mut session = WorkerSession::new(
        Instant::now(),
        SessionConfig::default(),
        Role::Miner,
        "w",
        &["soft"],
        1.0,
    );
    let mut events = Vec::new();
    loop {
        while let Some(frame) = session.poll_transmit() {
            stream.write(&frame).await.map_err(|e| e.to_string())?;
        }
        if events.len() >= 2 {
            return Ok(events);
        }
        let chunk = stream
            .read_chunk()
            .await
            .map_err(|e| e.to_string())?
            .ok_or("stream finished")?
            .to_vec();
        session.handle(Instant::now(), &chunk);
        while let Some(e) = session.poll_event() {
            events.push(e);
        }
    }
}

#[tokio::test]
async fn an_authorized_worker_is_welcomed_and_gets_jobs() {
    let worker = Identity::generate("worker").unwrap();
    let link = start_link(&[&worker]);
    let events = tokio::time::timeout(Duration::from_secs(20), run_worker(&link, &worker))
        .await
        .expect("in time")
        .expect("session");
    assert_eq!(
        events[0],
        WorkerEvent::Welcomed {
            session_id: 1,
            nonce_prefix: vec![0x01]
        }
    );
    assert!(matches!(
        events[1],
        WorkerEvent::Job {
            job_id: 7,
            block_height: 99,
            ..
        }
    ));
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
    let events = tokio::time::timeout(Duration::from_secs(20), run_worker(&link, &good))
        .await
        .expect("in time")
        .expect("the authorized worker still works");
    assert!(matches!(events[0], WorkerEvent::Welcomed { .. }));
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
    let batch = Message::VerifyBatch {
        batch_id: 5,
        items: vec![
            ixi_link_proto::VerifyItem {
                key: vec![1; 528],
                message: vec![2; 44],
                signature: vec![3; 512],
            };
            200
        ],
    };
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
        worker.to_string().parse::<ixi_node_link::Pin>().unwrap(),
        worker
    );
    assert!("zz".parse::<ixi_node_link::Pin>().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
