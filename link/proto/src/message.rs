//! The messages of the link: one struct per message, and one table that gives each its wire
//! code, its name, and who may send it when.
//!
//! # Adding a message
//! 1. Its struct below, with its wire layout beside it: a `wire!` line that lists the fields
//!    in order, each with its limit (an enum's one-byte codes in a `codes!` line beside the
//!    enum), or a hand-written `Wire` impl where a field needs more (a verdict and its reason
//!    in one byte).
//! 2. One line in the `messages!` table at the end of this file: wire code, name, sender,
//!    the worker role it concerns, and the session phase it belongs to.
//! 3. Its handler on the receiving side (the link server's core, or the worker crate).
//!
//! Encoding, decoding, names, [`Message`]'s variant and the session's checks of who may send
//! what all follow from the table.

use crate::codec::{Code, Put, Reader, Writer};
use crate::error::DecodeError;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// Field limits: a frame is refused field by field before anything of it is kept.
pub mod limits {
    /// A worker name, a backend name.
    pub const NAME: usize = 64;
    /// Backends a worker reports.
    pub const BACKENDS: usize = 16;
    /// A miner's nonce partition prefix.
    pub const NONCE_PREFIX: usize = 16;
    /// A challenge prefix (`varint(blockNum) ‖ blockHash ‖ address ‖ pubKeyPart`).
    pub const CHALLENGE_PREFIX: usize = 1024;
    /// An IxiNumber's raw bytes.
    pub const RAW_NUMBER: usize = 128;
    /// A nonce (the network takes 1..=64 bytes).
    pub const NONCE: usize = 64;
    /// Items of one verification batch (and verdicts of one result).
    pub const ITEMS: usize = 65536;
    /// A public key in the Ixian layout.
    pub const KEY: usize = 4096;
    /// A signed message.
    pub const MESSAGE: usize = 1 << 20;
    /// A signature.
    pub const SIGNATURE: usize = 2048;
    /// A free text (idle detail, error message).
    pub const TEXT: usize = 4096;
    /// Largest rate a worker may report (attempts or verifications per second): far above any
    /// machine, far below where an f64 sum of many workers loses meaning.
    pub const RATE: f64 = 1e15;
}

/// The one-byte wire codes of an enum (`Variant = code`): [`Put`] writes a value's code,
/// [`Code`] reads it back. A variant without a code does not compile.
macro_rules! codes {
    ($name:ident { $($variant:ident = $code:literal),* $(,)? }) => {
        impl Put for $name {
            fn put(&self, w: &mut Writer<'_>) {
                w.u8(match self {
                    $(Self::$variant => $code,)*
                });
            }
        }

        impl Code for $name {
            fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

/// What a worker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Searches signer PoW nonces.
    Miner,
    /// Verifies RSA signatures.
    Verifier,
}

codes!(Role {
    Miner = 1,
    Verifier = 2,
});

impl Role {
    /// The name for logs and status.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Miner => "miner",
            Self::Verifier => "verifier",
        }
    }
}

/// Why a solution was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// For a block the node no longer mines.
    Stale,
    /// Below the job's minimum difficulty.
    BelowTarget,
    /// Already submitted.
    Duplicate,
    /// Not better than the best already forwarded for that block.
    NotBetter,
    /// The node is not mining now.
    NodeIdle,
    /// A nonce outside the 2..=64 bytes a node takes.
    InvalidNonce,
    /// Forwarded, but the node's status does not show it as its solution (it judged otherwise,
    /// or its own miner found a better one first).
    NotTaken,
}

impl RejectReason {
    /// Every reason, in wire-code order (code = index + 1).
    pub const ALL: [RejectReason; 7] = [
        Self::Stale,
        Self::BelowTarget,
        Self::Duplicate,
        Self::NotBetter,
        Self::NodeIdle,
        Self::InvalidNonce,
        Self::NotTaken,
    ];

    /// A short name for logs and status lines.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::BelowTarget => "below target",
            Self::Duplicate => "duplicate",
            Self::NotBetter => "not better",
            Self::NodeIdle => "node idle",
            Self::InvalidNonce => "invalid nonce",
            Self::NotTaken => "not taken by the node",
        }
    }
}

/// The link's judgement of a solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Forwarded to (and, where it can tell, taken by) the node.
    Accepted,
    /// Not forwarded.
    Rejected(RejectReason),
}

/// Why the link has no work for its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdleReason {
    /// The node's signer is in its cooldown between mining windows.
    Cooldown,
    /// The node is catching up with the network.
    Syncing,
    /// The node does not answer.
    Unreachable,
}

codes!(IdleReason {
    Cooldown = 1,
    Syncing = 2,
    Unreachable = 3,
});

/// One signature to verify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifyItem {
    /// The public key in the Ixian layout.
    pub key: Vec<u8>,
    /// The signed message.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// How a message's fields are written and read; implemented beside each message struct.
pub(crate) trait Wire: Sized {
    /// Appends the fields in order.
    fn encode(&self, w: &mut Writer<'_>);
    /// Reads the fields in order, checking each one's limit and domain.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// The [`Wire`] impl of a message (or a part of one) whose fields need no more than their own
/// checks: each field in wire order with the [`Reader`] call that reads it (its limit, the
/// name errors give); its type says how it is written ([`Put`]).
macro_rules! wire {
    ($name:ident { $($field:ident: $read:ident($($arg:expr),*)),* $(,)? }) => {
        impl Wire for $name {
            fn encode(&self, w: &mut Writer<'_>) {
                $(Put::put(&self.$field, w);)*
            }

            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self {
                    $($field: r.$read($($arg),*)?,)*
                })
            }
        }
    };
}

/// Worker → link, first: who the worker is.
#[derive(Debug, Clone, PartialEq)]
pub struct Hello {
    /// Miner or verifier.
    pub role: Role,
    /// The worker's protocol version.
    pub protocol_version: u8,
    /// A name for logs and status.
    pub worker_name: String,
    /// The compute backends it runs.
    pub backends: Vec<String>,
    /// Its measured rate (attempts/s or verifies/s), for sizing work: finite, at least 0.
    pub measured_rate: f64,
}

wire!(Hello {
    role: code("role"),
    protocol_version: u8("protocol version"),
    worker_name: text(limits::NAME, "worker name"),
    backends: names(limits::BACKENDS, "backend count", "backend name"),
    measured_rate: rate("measured rate"),
});

/// Link → worker: the session and this worker's nonce partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Welcome {
    /// Session id.
    pub session_id: u64,
    /// The prefix every nonce of this worker starts with (empty for verifiers).
    pub nonce_prefix: Vec<u8>,
}

wire!(Welcome {
    session_id: u64("session id"),
    nonce_prefix: bytes(limits::NONCE_PREFIX, "nonce prefix"),
});

/// Link → miner: what to mine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Job id.
    pub job_id: u64,
    /// The block the challenge is for.
    pub block_height: u64,
    /// `varint(blockNum) ‖ blockHash ‖ addressNoChecksum ‖ pubKeyPart`.
    pub challenge_prefix: Vec<u8>,
    /// Minimum difficulty, raw IxiNumber amount as two's-complement little-endian bytes
    /// (`IxiNumber::getBytes`).
    pub min_difficulty_raw: Vec<u8>,
    /// Best difficulty already forwarded for this block (same encoding; empty if none).
    pub best_difficulty_raw: Vec<u8>,
    /// Drop the current job at once.
    pub replace_now: bool,
}

wire!(Job {
    job_id: u64("job id"),
    block_height: u64("block height"),
    challenge_prefix: bytes(limits::CHALLENGE_PREFIX, "challenge prefix"),
    min_difficulty_raw: bytes(limits::RAW_NUMBER, "minimum difficulty"),
    best_difficulty_raw: bytes(limits::RAW_NUMBER, "best difficulty"),
    replace_now: flag("replace now"),
});

/// Miner → link: a nonce that meets the job.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Solution {
    /// The job.
    pub job_id: u64,
    /// The nonce.
    pub nonce: Vec<u8>,
}

wire!(Solution {
    job_id: u64("job id"),
    nonce: bytes(limits::NONCE, "nonce"),
});

/// Link → miner: what became of a solution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolutionVerdict {
    /// The job.
    pub job_id: u64,
    /// The nonce.
    pub nonce: Vec<u8>,
    /// Accepted or why not.
    pub verdict: Verdict,
    /// The difficulty the link computed (IxiNumber bytes; empty when it has none).
    pub difficulty_raw: Vec<u8>,
}

impl Wire for SolutionVerdict {
    fn encode(&self, w: &mut Writer<'_>) {
        w.u64(self.job_id);
        w.bytes(&self.nonce);
        w.u8(match self.verdict {
            Verdict::Accepted => 0,
            Verdict::Rejected(reason) => {
                let index = RejectReason::ALL.iter().position(|r| *r == reason);
                // ALL lists every reason, and has fewer than 255 of them.
                index
                    .and_then(|i| u8::try_from(i + 1).ok())
                    .unwrap_or(u8::MAX)
            }
        });
        w.bytes(&self.difficulty_raw);
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let job_id = r.u64("job id")?;
        let nonce = r.bytes(limits::NONCE, "nonce")?;
        let verdict = match r.u8("verdict")? {
            0 => Verdict::Accepted,
            v => Verdict::Rejected(
                *RejectReason::ALL
                    .get(usize::from(v) - 1)
                    .ok_or(DecodeError::unknown("verdict", v))?,
            ),
        };
        Ok(Self {
            job_id,
            nonce,
            verdict,
            difficulty_raw: r.bytes(limits::RAW_NUMBER, "difficulty")?,
        })
    }
}

wire!(VerifyItem {
    key: bytes(limits::KEY, "key"),
    message: bytes(limits::MESSAGE, "message"),
    signature: bytes(limits::SIGNATURE, "signature"),
});

/// Link → verifier: signatures to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyBatch {
    /// Batch id.
    pub batch_id: u64,
    /// The items.
    pub items: Vec<VerifyItem>,
}

wire!(VerifyBatch {
    batch_id: u64("batch id"),
    items: list(limits::ITEMS, "item count"),
});

/// Verifier → link: one verdict per item, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyResult {
    /// Batch id.
    pub batch_id: u64,
    /// The verdicts.
    pub verdicts: Vec<bool>,
}

wire!(VerifyResult {
    batch_id: u64("batch id"),
    verdicts: verdicts(limits::ITEMS),
});

/// Link → worker: no work now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idle {
    /// Why.
    pub reason: IdleReason,
    /// Details for the operator.
    pub detail: String,
}

wire!(Idle {
    reason: code("idle reason"),
    detail: text(limits::TEXT, "idle detail"),
});

/// Either way: still here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Sender's clock in milliseconds, echoed for round-trip times.
    pub sent_at_ms: u64,
}

wire!(Heartbeat {
    sent_at_ms: u64("heartbeat time"),
});

/// Worker → link: counters for the status display.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Attempts (miner) or verifications (verifier) since the session began.
    pub done: u64,
    /// Current rate per second: finite, at least 0.
    pub rate: f64,
}

wire!(Stats {
    done: u64("done count"),
    rate: rate("rate"),
});

/// Either way: a protocol error; the sender closes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    /// Error code ([`crate::session::codes`]).
    pub code: u16,
    /// What was wrong.
    pub message: String,
}

wire!(ErrorMessage {
    code: u16("error code"),
    message: text(limits::TEXT, "error message"),
});

/// Which side sends a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// Workers send it.
    Worker,
    /// The link sends it.
    Link,
    /// Both do.
    Either,
}

/// Which workers a message concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every worker.
    Any,
    /// Only a worker of this role.
    Only(Role),
}

/// When in a session a message may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Only during the handshake (Hello, Welcome).
    Handshake,
    /// Only once the worker is welcomed.
    Active,
    /// At any time.
    Always,
}

/// Who may send a message, to whom, when: the session checks every message against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The sending side.
    pub sender: Sender,
    /// The workers it concerns.
    pub audience: Audience,
    /// The session phase.
    pub phase: Phase,
}

/// The message table: `code Name: sender, audience, phase;`. Generates [`Message`] and its
/// wire code, name, policy, encoding and decoding.
macro_rules! messages {
    ($($code:literal $name:ident: $sender:ident, $audience:expr, $phase:ident;)*) => {
        /// A message of the link protocol: one variant per message struct.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Message {
            $(
                #[doc = concat!("A [`", stringify!($name), "`].")]
                $name($name),
            )*
        }

        $(
            impl From<$name> for Message {
                fn from(m: $name) -> Self {
                    Message::$name(m)
                }
            }
        )*

        impl Message {
            /// The wire code.
            #[must_use]
            pub fn code(&self) -> u8 {
                match self {
                    $(Message::$name(_) => $code,)*
                }
            }

            /// The name, for logs and errors.
            #[must_use]
            pub fn name(&self) -> &'static str {
                match self {
                    $(Message::$name(_) => stringify!($name),)*
                }
            }

            /// Who may send it, to whom, when.
            #[must_use]
            pub fn policy(&self) -> Policy {
                match self {
                    $(Message::$name(_) => Policy {
                        sender: Sender::$sender,
                        audience: $audience,
                        phase: Phase::$phase,
                    },)*
                }
            }

            /// Whether `code` is a message this build knows.
            #[must_use]
            pub fn is_known_code(code: u8) -> bool {
                [$($code),*].contains(&code)
            }

            pub(crate) fn encode_payload(&self, w: &mut Writer<'_>) {
                match self {
                    $(Message::$name(m) => m.encode(w),)*
                }
            }

            pub(crate) fn decode_payload(
                code: u8,
                r: &mut Reader<'_>,
            ) -> Result<Self, DecodeError> {
                match code {
                    $($code => Ok(Message::$name($name::decode(r)?)),)*
                    other => Err(DecodeError::UnknownType(other)),
                }
            }
        }
    };
}

messages! {
    1 Hello: Worker, Audience::Any, Handshake;
    2 Welcome: Link, Audience::Any, Handshake;
    3 Job: Link, Audience::Only(Role::Miner), Active;
    4 Solution: Worker, Audience::Only(Role::Miner), Active;
    5 SolutionVerdict: Link, Audience::Only(Role::Miner), Active;
    6 VerifyBatch: Link, Audience::Only(Role::Verifier), Active;
    7 VerifyResult: Worker, Audience::Only(Role::Verifier), Active;
    8 Idle: Link, Audience::Any, Active;
    9 Heartbeat: Either, Audience::Any, Always;
    10 Stats: Worker, Audience::Any, Active;
    11 ErrorMessage: Either, Audience::Any, Always;
}
