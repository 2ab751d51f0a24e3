//! Frames: every message round-trips; malformed, truncated and oversized input is an error or
//! "need more bytes", never a panic.

use ixi_link_proto::codec::{self, Decoder, HEADER_LEN, MAX_PAYLOAD, decode, to_frame};
use ixi_link_proto::{
    DecodeError, ErrorMessage, Heartbeat, Hello, Idle, IdleReason, Job, Message, RejectReason,
    Role, Solution, SolutionVerdict, Stats, Verdict, VerifyBatch, VerifyItem, VerifyResult,
    Welcome,
};
use proptest::prelude::*;

use crate::support::sample_item;

fn samples() -> Vec<Message> {
    let every_rejection = [
        RejectReason::Stale,
        RejectReason::BelowTarget,
        RejectReason::Duplicate,
        RejectReason::NotBetter,
        RejectReason::NodeIdle,
        RejectReason::InvalidNonce,
        RejectReason::NotTaken,
    ]
    .into_iter()
    .map(|reason| {
        Message::SolutionVerdict(SolutionVerdict {
            job_id: 9,
            nonce: reason.as_str().as_bytes().to_vec(),
            verdict: Verdict::Rejected(reason),
            difficulty_raw: vec![1],
        })
    });
    let mut all = vec![
        Message::Hello(Hello {
            role: Role::Miner,
            protocol_version: 1,
            worker_name: "rig-01".into(),
            backends: vec!["avx512".into(), "soft".into()],
            measured_rate: 9.96e6,
        }),
        Message::Hello(Hello {
            role: Role::Verifier,
            protocol_version: 1,
            worker_name: String::new(),
            backends: vec![],
            measured_rate: 0.0,
        }),
        Message::Welcome(Welcome {
            session_id: u64::MAX,
            nonce_prefix: vec![0xab, 0xcd],
        }),
        Message::Job(Job {
            job_id: 7,
            block_height: 5_033_594,
            challenge_prefix: vec![0x5a; 178],
            min_difficulty_raw: vec![0x00, 0x80, 0xc6, 0xa4, 0x7e, 0x8d, 0x03],
            best_difficulty_raw: vec![],
            replace_now: true,
        }),
        Message::Solution(Solution {
            job_id: 7,
            nonce: vec![1; 32],
        }),
        Message::SolutionVerdict(SolutionVerdict {
            job_id: 7,
            nonce: vec![1; 32],
            verdict: Verdict::Accepted,
            difficulty_raw: vec![9; 8],
        }),
        Message::SolutionVerdict(SolutionVerdict {
            job_id: 8,
            nonce: vec![2; 2],
            verdict: Verdict::Rejected(RejectReason::NotBetter),
            difficulty_raw: vec![],
        }),
        Message::VerifyBatch(VerifyBatch {
            batch_id: 3,
            items: vec![
                sample_item(),
                VerifyItem {
                    key: vec![1; 528],
                    message: vec![],
                    signature: vec![5; 512],
                },
            ],
        }),
        Message::VerifyResult(VerifyResult {
            batch_id: 3,
            verdicts: vec![true, false, true, true, false, false, false, true, true],
        }),
        Message::Idle(Idle {
            reason: IdleReason::Unreachable,
            detail: "connection refused".into(),
        }),
        Message::Heartbeat(Heartbeat { sent_at_ms: 123 }),
        Message::Stats(Stats {
            done: 1 << 40,
            rate: 1.5e7,
        }),
        Message::ErrorMessage(ErrorMessage {
            code: 2,
            message: "unexpected Job".into(),
        }),
    ];
    all.extend(every_rejection);
    all
}

#[test]
fn every_message_round_trips() {
    for m in samples() {
        let frame = to_frame(&m);
        let mut rest = &frame[..];
        assert_eq!(decode(&mut rest).unwrap(), Some(m.clone()));
        assert!(rest.is_empty());
    }
}

#[test]
fn every_strict_prefix_needs_more_bytes() {
    for m in samples() {
        let frame = to_frame(&m);
        for cut in 0..frame.len() {
            let mut rest = &frame[..cut];
            assert_eq!(decode(&mut rest), Ok(None), "{m:?} cut at {cut}");
            assert_eq!(rest.len(), cut, "input untouched");
        }
    }
}

#[test]
fn a_byte_at_a_time_gives_the_same_messages() {
    let mut stream = Vec::new();
    for m in samples() {
        codec::encode(&m, &mut stream);
    }
    let mut decoder = Decoder::new();
    let mut got = Vec::new();
    for b in stream {
        decoder.push(&[b]);
        while let Some(m) = decoder.next_message().unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, samples());
    assert_eq!(decoder.buffered(), 0);
}

#[test]
fn bad_headers_are_refused_before_the_payload() {
    let frame = to_frame(&Message::Heartbeat(Heartbeat { sent_at_ms: 1 }));
    /// Byte to corrupt, its new value, and the error expected.
    type Case = (usize, u8, fn(&DecodeError) -> bool);
    let cases: [Case; 4] = [
        (0, b'X', |e| matches!(e, DecodeError::BadMagic(_))),
        (3, 9, |e| matches!(e, DecodeError::UnsupportedVersion(9))),
        (4, 200, |e| matches!(e, DecodeError::UnknownType(200))),
        (5, 1, |e| matches!(e, DecodeError::BadFlags(1))),
    ];
    for (at, value, check) in cases {
        let mut bad = frame.clone();
        bad[at] = value;
        // Even with only the header's first bytes arrived.
        let mut rest = &bad[..(at + 1)];
        let err = decode(&mut rest).unwrap_err();
        assert!(check(&err), "{err}");
    }
    let mut huge = frame[..HEADER_LEN].to_vec();
    huge[6..10].copy_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
    let err = decode(&mut &huge[..]).unwrap_err();
    assert!(matches!(err, DecodeError::Oversized { .. }), "{err}");
}

#[test]
fn malformed_payloads_name_the_problem() {
    // A Solution whose nonce length says 65 (limit 64).
    let mut frame = to_frame(&Message::Solution(Solution {
        job_id: 1,
        nonce: vec![0; 64],
    }));
    frame[HEADER_LEN + 8..HEADER_LEN + 12].copy_from_slice(&65u32.to_le_bytes());
    let err = decode(&mut &frame[..]).unwrap_err();
    assert!(
        matches!(err, DecodeError::FieldTooLong { field: "nonce", .. }),
        "{err}"
    );

    // A payload shorter than its fields (the length header shrunk).
    let mut frame = to_frame(&Message::Stats(Stats { done: 1, rate: 2.0 }));
    frame[6..10].copy_from_slice(&12u32.to_le_bytes());
    frame.truncate(HEADER_LEN + 12);
    let err = decode(&mut &frame[..]).unwrap_err();
    assert_eq!(err, DecodeError::Truncated("rate"));

    // Bytes after the message.
    let mut frame = to_frame(&Message::Heartbeat(Heartbeat { sent_at_ms: 5 }));
    frame[6..10].copy_from_slice(&9u32.to_le_bytes());
    frame.push(0);
    assert_eq!(decode(&mut &frame[..]), Err(DecodeError::TrailingBytes(1)));

    // A verdict byte out of range, a non-finite rate.
    let mut frame = to_frame(&Message::Idle(Idle {
        reason: IdleReason::Syncing,
        detail: String::new(),
    }));
    frame[HEADER_LEN] = 9;
    assert!(matches!(
        decode(&mut &frame[..]),
        Err(DecodeError::Invalid { .. })
    ));
    let frame = to_frame(&Message::Stats(Stats {
        done: 0,
        rate: f64::NAN,
    }));
    assert!(matches!(
        decode(&mut &frame[..]),
        Err(DecodeError::Invalid { .. })
    ));
}

fn arb_message() -> impl Strategy<Value = Message> {
    let bytes = |max: usize| proptest::collection::vec(any::<u8>(), 0..=max);
    prop_oneof![
        (any::<u64>(), bytes(16)).prop_map(|(session_id, nonce_prefix)| Message::Welcome(
            Welcome {
                session_id,
                nonce_prefix
            }
        )),
        (
            any::<u64>(),
            any::<u64>(),
            bytes(300),
            bytes(40),
            bytes(40),
            any::<bool>()
        )
            .prop_map(
                |(job_id, block_height, challenge_prefix, min, best, replace_now)| Message::Job(
                    Job {
                        job_id,
                        block_height,
                        challenge_prefix,
                        min_difficulty_raw: min,
                        best_difficulty_raw: best,
                        replace_now,
                    }
                )
            ),
        (any::<u64>(), bytes(64))
            .prop_map(|(job_id, nonce)| Message::Solution(Solution { job_id, nonce })),
        (
            any::<u64>(),
            proptest::collection::vec(any::<bool>(), 0..100)
        )
            .prop_map(|(batch_id, verdicts)| Message::VerifyResult(VerifyResult {
                batch_id,
                verdicts
            })),
        (
            any::<u64>(),
            proptest::collection::vec((bytes(600), bytes(100), bytes(600)), 0..5)
        )
            .prop_map(|(batch_id, items)| Message::VerifyBatch(VerifyBatch {
                batch_id,
                items: items
                    .into_iter()
                    .map(|(key, message, signature)| VerifyItem {
                        key,
                        message,
                        signature
                    })
                    .collect(),
            })),
        ("[a-z0-9 ]{0,60}", any::<u16>())
            .prop_map(|(message, code)| Message::ErrorMessage(ErrorMessage { code, message })),
    ]
}

proptest! {
    #[test]
    fn random_messages_round_trip(m in arb_message()) {
        let frame = to_frame(&m);
        prop_assert_eq!(decode(&mut &frame[..]).unwrap(), Some(m));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut decoder = Decoder::new();
        decoder.push(&bytes);
        for _ in 0..4 {
            match decoder.next_message() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }

    #[test]
    fn corrupted_frames_never_panic(m in arb_message(), at in any::<usize>(), value in any::<u8>()) {
        let mut frame = to_frame(&m);
        let at = at % frame.len();
        frame[at] = value;
        let _ = decode(&mut &frame[..]);
    }
}

#[test]
fn rates_must_be_finite_and_not_negative() {
    for bad in [-1.0, -0.0001, f64::INFINITY, 1e16] {
        let stats = to_frame(&Message::Stats(Stats { done: 0, rate: bad }));
        let hello = to_frame(&Message::Hello(Hello {
            role: Role::Verifier,
            protocol_version: 1,
            worker_name: "w".into(),
            backends: vec![],
            measured_rate: bad,
        }));
        for frame in [stats, hello] {
            let err = decode(&mut &frame[..]).unwrap_err();
            assert!(
                matches!(err, DecodeError::Invalid { field, .. } if field.contains("rate")),
                "{bad}: {err}"
            );
        }
    }
    let ok = to_frame(&Message::Stats(Stats { done: 0, rate: 0.0 }));
    assert!(decode(&mut &ok[..]).unwrap().is_some());
}

#[test]
fn the_table_gives_every_message_a_distinct_code_and_name() {
    let mut codes = std::collections::BTreeMap::new();
    for m in samples() {
        let frame = to_frame(&m);
        assert_eq!(frame[4], m.code(), "{}", m.name());
        assert!(Message::is_known_code(m.code()));
        if let Some(other) = codes.insert(m.code(), m.name()) {
            assert_eq!(other, m.name(), "code {} used twice", m.code());
        }
    }
    // Every message of the table is among the samples.
    assert_eq!(codes.len(), 11);
    assert!(!Message::is_known_code(0) && !Message::is_known_code(12));
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// The frames of the messages with enum codes, lists and packed verdicts, byte for byte as
/// version 1 writes them (the layout is the protocol: a change here breaks deployed peers).
#[test]
fn frames_are_pinned_byte_for_byte() {
    let idle = |reason| {
        Message::Idle(Idle {
            reason,
            detail: "up".into(),
        })
    };
    let pinned = [
        (
            Message::Hello(Hello {
                role: Role::Miner,
                protocol_version: 1,
                worker_name: "rig".into(),
                backends: vec!["avx2".into(), "soft".into()],
                measured_rate: 1.0,
            }),
            "49584c010100230000000101030000007269670200040000006176783204000000736f6674000000000000f03f",
        ),
        (
            Message::Hello(Hello {
                role: Role::Verifier,
                protocol_version: 1,
                worker_name: "v".into(),
                backends: vec!["wgpu".into()],
                measured_rate: 2.5,
            }),
            "49584c0101001900000002010100000076010004000000776770750000000000000440",
        ),
        (
            idle(IdleReason::Cooldown),
            "49584c0108000700000001020000007570",
        ),
        (
            idle(IdleReason::Syncing),
            "49584c0108000700000002020000007570",
        ),
        (
            idle(IdleReason::Unreachable),
            "49584c0108000700000003020000007570",
        ),
        (
            Message::VerifyBatch(VerifyBatch {
                batch_id: 3,
                items: vec![
                    VerifyItem {
                        key: vec![1, 2],
                        message: b"m".to_vec(),
                        signature: vec![5],
                    },
                    VerifyItem {
                        key: vec![],
                        message: vec![],
                        signature: vec![6, 7],
                    },
                ],
            }),
            "49584c0106002a000000030000000000000002000000020000000102010000006d01000000050000000000000000020000000607",
        ),
        (
            Message::VerifyResult(VerifyResult {
                batch_id: 4,
                verdicts: vec![true, false, true, true, false, false, false, true, true],
            }),
            "49584c0107000e0000000400000000000000090000008d01",
        ),
    ];
    for (message, frame) in pinned {
        assert_eq!(hex(&to_frame(&message)), frame, "{}", message.name());
        assert_eq!(decode(&mut &unhex(frame)[..]), Ok(Some(message)));
    }
}

/// What the decoder says of bad enum codes, list counts and verdict bits, word for word.
#[test]
fn bad_codes_counts_and_bits_are_named() {
    let invalid = |field, detail: &str| DecodeError::Invalid {
        field,
        detail: detail.into(),
    };
    let too_long = |field, len, max| DecodeError::FieldTooLong { field, len, max };
    let cases = [
        // Hello's role 3, Idle's reason 0.
        (
            "49584c0101001000000003010000000000000000000000000000",
            invalid("role", "unknown value 3"),
        ),
        (
            "49584c0108000700000000020000007570",
            invalid("idle reason", "unknown value 0"),
        ),
        // 17 backends, a backend name of 65 bytes.
        (
            "49584c010100080000000101000000001100",
            too_long("backend count", 17, 16),
        ),
        (
            "49584c0101000c000000010100000000010041000000",
            too_long("backend name", 65, 64),
        ),
        // 65537 items; verdicts cut short; a bit set past the ninth verdict.
        (
            "49584c0106000c000000030000000000000001000100",
            too_long("item count", 65537, 65536),
        ),
        (
            "49584c0107000c000000040000000000000009000000",
            DecodeError::Truncated("verdicts"),
        ),
        (
            "49584c0107000e0000000400000000000000090000008d03",
            invalid("verdicts", "bits set past the last verdict"),
        ),
        (
            "49584c0107000c000000040000000000000001000100",
            too_long("verdict count", 65537, 65536),
        ),
    ];
    for (frame, error) in cases {
        assert_eq!(decode(&mut &unhex(frame)[..]), Err(error), "{frame}");
    }
}
