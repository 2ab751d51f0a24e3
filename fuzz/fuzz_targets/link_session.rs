//! The session state machine, both sides, fed arbitrary frames and arbitrary timing.
//!
//! Two modes, chosen by the first byte:
//! - hostile: one session (link or worker side) takes arbitrary bytes in arbitrary chunks,
//!   with time passing and timeouts handled in between. It must never panic, must report
//!   exactly one `Closed` and nothing after it, and everything it transmits must be a valid
//!   frame;
//! - paired: a link and a worker session talk; the fuzzer picks messages (valid frames cut
//!   from its input) for either owner to send. A message the sending session accepts must be
//!   one the receiving session admits: neither side may ever close with a protocol violation
//!   or a malformed frame.
#![no_main]

use std::time::{Duration, Instant};

use ixi_link_proto::codec::decode;
use ixi_link_proto::{
    CloseReason, Event, Hello, Message, PROTOCOL_VERSION, Role, Session, SessionConfig,
};
use libfuzzer_sys::fuzz_target;

/// Drains a session: frames out (each must decode to exactly one message) and events (one
/// `Closed` at most, nothing after it).
fn drain(session: &mut Session, closed: &mut bool, frames: &mut Vec<Vec<u8>>) -> Vec<Event> {
    while let Some(frame) = session.poll_transmit() {
        let mut rest = &frame[..];
        let message = decode(&mut rest);
        assert!(
            matches!(message, Ok(Some(_))) && rest.is_empty(),
            "the session sent an invalid frame: {frame:02x?} ({message:?})"
        );
        frames.push(frame);
    }
    let mut events = Vec::new();
    while let Some(event) = session.poll_event() {
        assert!(!*closed, "an event after Closed: {event:?}");
        if matches!(event, Event::Closed(_)) {
            *closed = true;
        }
        events.push(event);
    }
    assert_eq!(*closed, session.is_closed());
    events
}

fn hello(role_byte: u8) -> Hello {
    Hello {
        role: if role_byte & 1 == 0 {
            Role::Miner
        } else {
            Role::Verifier
        },
        protocol_version: PROTOCOL_VERSION,
        worker_name: "fuzz".to_owned(),
        backends: vec!["soft".to_owned()],
        measured_rate: 1.0,
    }
}

fn hostile(data: &[u8]) {
    let Some((&mode, mut data)) = data.split_first() else {
        return;
    };
    let start = Instant::now();
    let mut now = start;
    let config = SessionConfig::default();
    let mut session = if mode & 1 == 0 {
        Session::link(now, config)
    } else {
        Session::worker(now, config, hello(mode >> 1))
    };
    let (mut closed, mut frames) = (false, Vec::new());
    drain(&mut session, &mut closed, &mut frames);
    // Each step: a length byte, a time step byte, then that many bytes of input.
    while let [len, step, rest @ ..] = data {
        let take = usize::from(*len).min(rest.len());
        let (chunk, tail) = rest.split_at(take);
        data = tail;
        now += Duration::from_millis(u64::from(*step) * 20);
        if let Some(due) = session.poll_timeout()
            && now >= due
        {
            session.handle_timeout(now);
        }
        session.handle(now, chunk);
        drain(&mut session, &mut closed, &mut frames);
    }
    if closed {
        assert!(session.poll_timeout().is_none());
    }
}

fn paired(data: &[u8]) {
    let Some((&role, mut data)) = data.split_first() else {
        return;
    };
    let mut now = Instant::now();
    let config = SessionConfig::default();
    let mut link = Session::link(now, config);
    let mut worker = Session::worker(now, config, hello(role));
    let (mut link_closed, mut worker_closed) = (false, false);
    let (mut to_link, mut to_worker) = (Vec::new(), Vec::new());
    // Each step: a selector byte (bit 0: who sends, bits 1..: time step), then a frame cut
    // from the input; bytes that are not a valid frame are skipped.
    while let [selector, rest @ ..] = data {
        let mut cursor = rest;
        let message = decode(&mut cursor);
        data = if cursor.len() < rest.len() {
            cursor
        } else {
            // Not a frame: skip one byte and go on.
            rest.get(1..).unwrap_or_default()
        };
        now += Duration::from_millis(u64::from(selector >> 1) * 10);
        for s in [&mut link, &mut worker] {
            if let Some(due) = s.poll_timeout()
                && now >= due
            {
                s.handle_timeout(now);
            }
        }
        if let Ok(Some(message)) = message {
            let sender = if selector & 1 == 0 {
                &mut link
            } else {
                &mut worker
            };
            // A Hello from the owner: only the session itself sends one.
            if !matches!(message, Message::Hello(_)) {
                let _ = sender.send(now, message);
            }
        }
        drain(&mut link, &mut link_closed, &mut to_worker);
        drain(&mut worker, &mut worker_closed, &mut to_link);
        for frame in to_worker.drain(..) {
            worker.handle(now, &frame);
        }
        for frame in to_link.drain(..) {
            link.handle(now, &frame);
        }
        for (events, side) in [
            (drain(&mut link, &mut link_closed, &mut to_worker), "link"),
            (
                drain(&mut worker, &mut worker_closed, &mut to_link),
                "worker",
            ),
        ] {
            for event in events {
                if let Event::Closed(reason) = &event {
                    assert!(
                        !matches!(
                            reason,
                            CloseReason::Malformed(_) | CloseReason::ProtocolViolation(_)
                        ),
                        "the {side} refused what its peer was allowed to send: {reason}"
                    );
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((&mode, rest)) if mode & 1 == 0 => hostile(rest),
        Some((_, rest)) => paired(rest),
        None => {}
    }
});
