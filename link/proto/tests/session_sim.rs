//! Both ends of a session against each other, with simulated time.

use std::time::{Duration, Instant};

use ixi_link_proto::session::codes;
use ixi_link_proto::{
    CloseReason, ErrorMessage, Event, Hello, Idle, IdleReason, Job, Message, Role, SendError,
    Session, SessionConfig, Solution, SolutionVerdict, Stats, Verdict, VerifyBatch, VerifyResult,
    Welcome, codec,
};

use crate::support::sample_item;

fn hello(role: Role) -> Hello {
    Hello {
        role,
        protocol_version: ixi_link_proto::PROTOCOL_VERSION,
        worker_name: "w1".into(),
        backends: vec!["soft".into()],
        measured_rate: 1.0e6,
    }
}

/// A Welcome with no nonce prefix.
fn bare_welcome(session_id: u64) -> Welcome {
    Welcome {
        session_id,
        nonce_prefix: vec![],
    }
}

/// A worker and a link connected by a perfect pipe, and a clock.
struct Pair {
    now: Instant,
    worker: Session,
    link: Session,
    worker_events: Vec<Event>,
    link_events: Vec<Event>,
}

impl Pair {
    fn new(role: Role) -> Self {
        let now = Instant::now();
        let config = SessionConfig::default();
        Self {
            now,
            worker: Session::worker(now, config, hello(role)),
            link: Session::link(now, config),
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
        let Event::Message(Message::Hello(h)) = self.link_events.remove(0) else {
            panic!("the link did not get the Hello");
        };
        assert_eq!(h.worker_name, "w1");
        self.link_sends(Welcome {
            session_id: 42,
            nonce_prefix: vec![0xab],
        });
    }

    /// The link sends `message`; it is the worker's next event.
    fn link_sends(&mut self, message: impl Into<Message>) {
        let message = message.into();
        self.link.send(self.now, message.clone()).unwrap();
        self.pump();
        assert_eq!(self.worker_events.remove(0), Event::Message(message));
    }

    /// The worker sends `message`; it is the link's next event.
    fn worker_sends(&mut self, message: impl Into<Message>) {
        let message = message.into();
        self.worker.send(self.now, message.clone()).unwrap();
        self.pump();
        assert_eq!(self.link_events.remove(0), Event::Message(message));
    }
}

#[test]
fn miner_handshake_job_solution_verdict() {
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    assert_eq!(p.link.role(), Some(Role::Miner));
    assert_eq!(p.worker.role(), Some(Role::Miner));
    p.link_sends(Job {
        job_id: 1,
        block_height: 100,
        challenge_prefix: vec![7; 178],
        min_difficulty_raw: vec![1, 2],
        best_difficulty_raw: vec![],
        replace_now: false,
    });
    p.worker_sends(Solution {
        job_id: 1,
        nonce: vec![0xab, 1, 2],
    });
    let verdict = SolutionVerdict {
        job_id: 1,
        nonce: vec![0xab, 1, 2],
        verdict: Verdict::Accepted,
        difficulty_raw: vec![5],
    };
    p.link.send(p.now, verdict.clone()).unwrap();
    let idle = Idle {
        reason: IdleReason::Cooldown,
        detail: "after 10 blocks".into(),
    };
    p.link.send(p.now, idle.clone()).unwrap();
    p.pump();
    assert_eq!(
        p.worker_events,
        [
            Event::Message(Message::SolutionVerdict(verdict)),
            Event::Message(Message::Idle(idle))
        ]
    );
    // A miner cannot send verification results, nor get batches; the errors say why.
    let result = VerifyResult {
        batch_id: 1,
        verdicts: vec![true],
    };
    assert_eq!(
        p.worker.send(p.now, result),
        Err(SendError::WrongRole {
            message: "VerifyResult",
            wanted: "verifier",
            actual: "miner"
        })
    );
    let batch = VerifyBatch {
        batch_id: 1,
        items: vec![],
    };
    assert!(matches!(
        p.link.send(p.now, batch),
        Err(SendError::WrongRole { .. })
    ));
    // Nor does a worker send a link's message, nor a second Hello.
    assert!(matches!(
        p.worker.send(p.now, bare_welcome(1)),
        Err(SendError::WrongSide { .. })
    ));
    assert!(matches!(
        p.worker.send(p.now, hello(Role::Miner)),
        Err(SendError::OutOfPhase { .. })
    ));
    // A second Welcome is out of phase too.
    assert!(matches!(
        p.link.send(p.now, bare_welcome(2)),
        Err(SendError::OutOfPhase { .. })
    ));
}

#[test]
fn verifier_batch_and_result() {
    let mut p = Pair::new(Role::Verifier);
    p.handshake();
    p.link_sends(VerifyBatch {
        batch_id: 9,
        items: vec![sample_item(); 3],
    });
    let result = VerifyResult {
        batch_id: 9,
        verdicts: vec![true, false, true],
    };
    p.worker.send(p.now, result.clone()).unwrap();
    p.worker
        .send(
            p.now,
            Stats {
                done: 3,
                rate: 100.0,
            },
        )
        .unwrap();
    p.pump();
    assert_eq!(
        p.link_events,
        [
            Event::Message(Message::VerifyResult(result)),
            Event::Message(Message::Stats(Stats {
                done: 3,
                rate: 100.0
            }))
        ]
    );
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
        Some(Event::Closed(CloseReason::TimedOut))
    );
    assert_eq!(
        p.link.poll_event(),
        Some(Event::Closed(CloseReason::TimedOut))
    );
    assert_eq!(p.worker.poll_timeout(), None);
    assert_eq!(
        p.worker.send(p.now, Stats { done: 0, rate: 0.0 }),
        Err(SendError::Closed)
    );
}

fn error_code(frame: &[u8]) -> u16 {
    match codec::decode(&mut &frame[..]).unwrap() {
        Some(Message::ErrorMessage(ErrorMessage { code, .. })) => code,
        other => panic!("not an Error frame: {other:?}"),
    }
}

#[test]
fn protocol_violations_close_with_an_error_frame() {
    // A miner that sends a verification result.
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    let frame = codec::to_frame(&Message::VerifyResult(VerifyResult {
        batch_id: 1,
        verdicts: vec![true],
    }));
    p.link.handle(p.now, &frame);
    assert!(matches!(
        p.link.poll_event(),
        Some(Event::Closed(CloseReason::ProtocolViolation(m))) if m.contains("VerifyResult")
    ));
    let error = p.link.poll_transmit().expect("an Error frame");
    assert_eq!(error_code(&error), codes::PROTOCOL_VIOLATION);
    assert!(p.link.is_closed());
    // Later input is ignored.
    p.link.handle(p.now, &frame);
    assert_eq!(p.link.poll_event(), None);

    // A link message from the worker: a Job sent to the link.
    let mut p = Pair::new(Role::Miner);
    p.handshake();
    let job = codec::to_frame(&Message::Job(Job {
        job_id: 1,
        block_height: 1,
        challenge_prefix: vec![1],
        min_difficulty_raw: vec![],
        best_difficulty_raw: vec![],
        replace_now: false,
    }));
    p.link.handle(p.now, &job);
    assert!(matches!(
        p.link.poll_event(),
        Some(Event::Closed(CloseReason::ProtocolViolation(m))) if m == "unexpected Job from the worker"
    ));

    // Garbage before the Hello.
    let mut link = Session::link(Instant::now(), SessionConfig::default());
    link.handle(Instant::now(), b"GET / HTTP/1.1\r\n");
    assert!(matches!(
        link.poll_event(),
        Some(Event::Closed(CloseReason::Malformed(_)))
    ));
    assert_eq!(error_code(&link.poll_transmit().unwrap()), codes::MALFORMED);

    // A solution before the Welcome.
    let now = Instant::now();
    let mut link = Session::link(now, SessionConfig::default());
    let mut worker = Session::worker(now, SessionConfig::default(), hello(Role::Miner));
    let early = Solution {
        job_id: 1,
        nonce: vec![1, 2],
    };
    assert!(matches!(
        worker.send(now, early.clone()),
        Err(SendError::OutOfPhase { .. })
    ));
    let hello_frame = worker.poll_transmit().unwrap();
    link.handle(now, &hello_frame);
    link.handle(now, &codec::to_frame(&Message::Solution(early)));
    assert!(matches!(
        link.poll_event(),
        Some(Event::Message(Message::Hello(_)))
    ));
    assert!(matches!(
        link.poll_event(),
        Some(Event::Closed(CloseReason::ProtocolViolation(_)))
    ));

    // A second Hello.
    let mut link = Session::link(now, SessionConfig::default());
    link.handle(now, &hello_frame);
    link.handle(now, &hello_frame);
    assert!(matches!(
        link.poll_event(),
        Some(Event::Message(Message::Hello(_)))
    ));
    assert!(matches!(
        link.poll_event(),
        Some(Event::Closed(CloseReason::ProtocolViolation(m))) if m.contains("Hello")
    ));
}

#[test]
fn a_peer_error_closes_without_an_answer() {
    let mut p = Pair::new(Role::Verifier);
    p.handshake();
    p.link
        .fail(p.now, "batch 3 has 2 items but 5 verdicts came back".into());
    p.pump();
    assert!(p.worker_events.iter().any(|e| matches!(
        e,
        Event::Closed(CloseReason::PeerError { code, message }) if *code == codes::PROTOCOL_VIOLATION && message.contains("batch 3")
    )));
    assert!(p.worker.is_closed() && p.link.is_closed());
    assert_eq!(p.worker.poll_transmit(), None);
}

#[test]
fn an_old_protocol_version_is_refused() {
    let now = Instant::now();
    let mut link = Session::link(now, SessionConfig::default());
    let old = Hello {
        protocol_version: 0,
        ..hello(Role::Miner)
    };
    link.handle(now, &codec::to_frame(&Message::Hello(old)));
    assert!(
        matches!(link.poll_event(), Some(Event::Closed(CloseReason::ProtocolViolation(m))) if m.contains("version"))
    );
    assert_eq!(error_code(&link.poll_transmit().unwrap()), codes::VERSION);
}
