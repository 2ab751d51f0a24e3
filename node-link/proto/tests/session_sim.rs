//! The worker and link sessions against each other, with simulated time.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use ixi_link_proto::session::{
    CloseReason, LinkEvent, LinkSession, SessionConfig, WorkerEvent, WorkerSession,
};
use ixi_link_proto::{IdleReason, Role, SolutionVerdict, VerifyItem, codec};

/// A worker and a link connected by a perfect pipe, and a clock.
struct Pair {
    now: Instant,
    worker: WorkerSession,
    link: LinkSession,
    worker_events: Vec<WorkerEvent>,
    link_events: Vec<LinkEvent>,
}

impl Pair {
    fn new(role: Role) -> Self {
        let now = Instant::now();
        let config = SessionConfig::default();
        Self {
            now,
            worker: WorkerSession::new(now, config, role, "w1", &["soft"], 1.0e6),
            link: LinkSession::new(now, config),
            worker_events: Vec::new(),
            link_events: Vec::new(),
        }
    }

    /// Moves frames both ways until nothing is left, collecting events.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(frame) = self.worker.poll_transmit() {
                self.link.handle(self.now, &frame);
                moved = true;
            }
            while let Some(frame) = self.link.poll_transmit() {
                self.worker.handle(self.now, &frame);
                moved = true;
            }
            while let Some(e) = self.worker.poll_event() {
                self.worker_events.push(e);
            }
            while let Some(e) = self.link.poll_event() {
                self.link_events.push(e);
            }
            if !moved {
                break;
            }
        }
    }

    /// Advances the clock to each side's deadlines up to `until`, pumping in between.
    fn run_until(&mut self, until: Instant) {
        loop {
            let next = [self.worker.poll_timeout(), self.link.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= until => {
                    self.now = self.now.max(t);
                    self.worker.handle_timeout(self.now);
                    self.link.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn handshake(&mut self) {
        self.pump();
        assert!(matches!(
            self.link_events.remove(0),
            LinkEvent::Hello { .. }
        ));
        self.link.welcome(self.now, 42, vec![0xab]).unwrap();
        self.pump();
        assert_eq!(
            self.worker_events.remove(0),
            WorkerEvent::Welcomed {
                session_id: 42,
                nonce_prefix: vec![0xab]
            }
        );
    }
}

#[test]
fn miner_handshake_job_solution_verdict() {
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    assert_eq!(p.link.role(), Some(Role::Miner));
    p.link
        .send_job(p.now, 1, 100, vec![7; 178], vec![1, 2], vec![], false)
        .unwrap();
    p.pump();
    assert!(matches!(
        p.worker_events.remove(0),
        WorkerEvent::Job {
            job_id: 1,
            block_height: 100,
            ..
        }
    ));
    p.worker
        .submit_solution(p.now, 1, vec![0xab, 1, 2])
        .unwrap();
    p.pump();
    assert_eq!(
        p.link_events.remove(0),
        LinkEvent::Solution {
            job_id: 1,
            nonce: vec![0xab, 1, 2]
        }
    );
    p.link
        .send_verdict(
            p.now,
            1,
            vec![0xab, 1, 2],
            SolutionVerdict::Accepted,
            vec![5],
        )
        .unwrap();
    p.link
        .send_idle(p.now, IdleReason::Cooldown, "after 10 blocks".into())
        .unwrap();
    p.pump();
    assert!(matches!(
        p.worker_events.remove(0),
        WorkerEvent::Verdict {
            verdict: SolutionVerdict::Accepted,
            ..
        }
    ));
    assert!(matches!(
        p.worker_events.remove(0),
        WorkerEvent::Idle {
            reason: IdleReason::Cooldown,
            ..
        }
    ));
    // A miner cannot send verification results, nor get batches.
    assert!(p.worker.send_result(p.now, 1, vec![true]).is_err());
    assert!(p.link.send_verify_batch(p.now, 1, vec![]).is_err());
}

#[test]
fn verifier_batch_and_result() {
    let mut p = Pair::new(Role::Verifier);
    p.handshake();
    let items = vec![
        VerifyItem {
            key: vec![2; 272],
            message: vec![1; 64],
            signature: vec![3; 256],
        };
        3
    ];
    p.link.send_verify_batch(p.now, 9, items.clone()).unwrap();
    p.pump();
    assert_eq!(
        p.worker_events.remove(0),
        WorkerEvent::VerifyBatch { batch_id: 9, items }
    );
    p.worker
        .send_result(p.now, 9, vec![true, false, true])
        .unwrap();
    p.worker.send_stats(p.now, 3, 100.0);
    p.pump();
    assert_eq!(
        p.link_events.remove(0),
        LinkEvent::VerifyResult {
            batch_id: 9,
            verdicts: vec![true, false, true]
        }
    );
    assert!(matches!(
        p.link_events.remove(0),
        LinkEvent::Stats { done: 3, .. }
    ));
}

#[test]
fn heartbeats_keep_a_quiet_session_alive() {
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    let start = p.now;
    p.run_until(start + Duration::from_secs(120));
    assert!(!p.worker.is_closed() && !p.link.is_closed());
    assert!(p.worker_events.is_empty() && p.link_events.is_empty());
}

#[test]
fn silence_times_out_on_both_sides() {
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    // The pipe breaks: nothing is delivered any more; each side only sees its own timers.
    let config = SessionConfig::default();
    let mut now = p.now;
    let deadline = now + config.idle_timeout + Duration::from_secs(1);
    while now < deadline {
        now += Duration::from_millis(500);
        p.worker.handle_timeout(now);
        p.link.handle_timeout(now);
        while p.worker.poll_transmit().is_some() {}
        while p.link.poll_transmit().is_some() {}
    }
    assert_eq!(
        p.worker.poll_event(),
        Some(WorkerEvent::Closed(CloseReason::TimedOut))
    );
    assert_eq!(
        p.link.poll_event(),
        Some(LinkEvent::Closed(CloseReason::TimedOut))
    );
    assert_eq!(p.worker.poll_timeout(), None);
}

#[test]
fn protocol_violations_close_with_an_error_frame() {
    // A miner that sends a verification result.
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    let frame = codec::to_frame(&ixi_link_proto::Message::VerifyResult {
        batch_id: 1,
        verdicts: vec![true],
    });
    p.link.handle(p.now, &frame);
    assert!(matches!(
        p.link.poll_event(),
        Some(LinkEvent::Closed(CloseReason::ProtocolViolation(m))) if m.contains("VerifyResult")
    ));
    let error = p.link.poll_transmit().expect("an Error frame");
    assert!(matches!(
        codec::decode(&mut &error[..]).unwrap(),
        Some(ixi_link_proto::Message::Error { code: 2, .. })
    ));
    assert!(p.link.is_closed());
    // Later input is ignored.
    p.link.handle(p.now, &frame);
    assert_eq!(p.link.poll_event(), None);

    // Garbage before the Hello.
    let mut link = LinkSession::new(Instant::now(), SessionConfig::default());
    link.handle(Instant::now(), b"GET / HTTP/1.1\r\n");
    assert!(matches!(
        link.poll_event(),
        Some(LinkEvent::Closed(CloseReason::Malformed(_)))
    ));

    // A solution before the Welcome.
    let mut link = LinkSession::new(Instant::now(), SessionConfig::default());
    let mut worker = WorkerSession::new(
        Instant::now(),
        SessionConfig::default(),
        Role::Miner,
        "w",
        &[],
        0.0,
    );
    assert!(
        worker
            .submit_solution(Instant::now(), 1, vec![1, 2])
            .is_err()
    );
    let hello = worker.poll_transmit().unwrap();
    link.handle(Instant::now(), &hello);
    let early = codec::to_frame(&ixi_link_proto::Message::Solution {
        job_id: 1,
        nonce: vec![1, 2],
    });
    link.handle(Instant::now(), &early);
    assert!(matches!(link.poll_event(), Some(LinkEvent::Hello { .. })));
    assert!(matches!(
        link.poll_event(),
        Some(LinkEvent::Closed(CloseReason::ProtocolViolation(_)))
    ));
}

#[test]
fn an_old_protocol_version_is_refused() {
    let now = Instant::now();
    let mut link = LinkSession::new(now, SessionConfig::default());
    let hello = codec::to_frame(&ixi_link_proto::Message::Hello {
        role: Role::Miner,
        protocol_version: 0,
        worker_name: "old".into(),
        backends: vec![],
        measured_rate: 0.0,
    });
    link.handle(now, &hello);
    assert!(
        matches!(link.poll_event(), Some(LinkEvent::Closed(CloseReason::ProtocolViolation(m))) if m.contains("version"))
    );
    assert!(matches!(
        codec::decode(&mut &link.poll_transmit().unwrap()[..]).unwrap(),
        Some(ixi_link_proto::Message::Error { code: 3, .. })
    ));
}
