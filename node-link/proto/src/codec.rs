//! Frames: encoding, and a decoder that takes whatever bytes have arrived.

use crate::error::DecodeError;
use crate::message::{
    IdleReason, Message, PROTOCOL_VERSION, RejectReason, Role, SolutionVerdict, VerifyItem,
};

/// Frame magic.
pub const MAGIC: [u8; 3] = *b"IXL";
/// Bytes before the payload: magic, version, type, flags, u32 length.
pub const HEADER_LEN: usize = 10;
/// Largest payload: a verification batch of a few thousand RSA-4096 transactions.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Field limits.
const MAX_NAME: usize = 64;
const MAX_BACKENDS: usize = 16;
const MAX_NONCE_PREFIX: usize = 16;
const MAX_PREFIX: usize = 1024;
const MAX_RAW_NUMBER: usize = 128;
const MAX_NONCE: usize = 64;
const MAX_ITEMS: usize = 65536;
const MAX_KEY: usize = 4096;
const MAX_MESSAGE: usize = 1 << 20;
const MAX_SIGNATURE: usize = 2048;
const MAX_TEXT: usize = 4096;

fn type_of(m: &Message) -> u8 {
    match m {
        Message::Hello { .. } => 1,
        Message::Welcome { .. } => 2,
        Message::Job { .. } => 3,
        Message::Solution { .. } => 4,
        Message::SolutionVerdict { .. } => 5,
        Message::VerifyBatch { .. } => 6,
        Message::VerifyResult { .. } => 7,
        Message::Idle { .. } => 8,
        Message::Heartbeat { .. } => 9,
        Message::Stats { .. } => 10,
        Message::Error { .. } => 11,
    }
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn bytes(&mut self, v: &[u8]) {
        // Lengths above u32 cannot pass the payload limit; saturate and let the peer refuse.
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(v);
    }
    fn text(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
}

/// Appends the frame of `message` to `out`.
///
/// # Panics
/// Never for messages within the limits; a payload above 4 GiB cannot be framed.
pub fn encode(message: &Message, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[PROTOCOL_VERSION, type_of(message), 0, 0, 0, 0, 0]);
    let mut w = Writer(out);
    match message {
        Message::Hello {
            role,
            protocol_version,
            worker_name,
            backends,
            measured_rate,
        } => {
            w.u8(match role {
                Role::Miner => 1,
                Role::Verifier => 2,
            });
            w.u8(*protocol_version);
            w.text(worker_name);
            w.u16(u16::try_from(backends.len()).unwrap_or(u16::MAX));
            for b in backends {
                w.text(b);
            }
            w.f64(*measured_rate);
        }
        Message::Welcome {
            session_id,
            nonce_prefix,
        } => {
            w.u64(*session_id);
            w.bytes(nonce_prefix);
        }
        Message::Job {
            job_id,
            block_height,
            challenge_prefix,
            min_difficulty_raw,
            best_difficulty_raw,
            replace_now,
        } => {
            w.u64(*job_id);
            w.u64(*block_height);
            w.bytes(challenge_prefix);
            w.bytes(min_difficulty_raw);
            w.bytes(best_difficulty_raw);
            w.u8(u8::from(*replace_now));
        }
        Message::Solution { job_id, nonce } => {
            w.u64(*job_id);
            w.bytes(nonce);
        }
        Message::SolutionVerdict {
            job_id,
            nonce,
            verdict,
            difficulty_raw,
        } => {
            w.u64(*job_id);
            w.bytes(nonce);
            w.u8(match verdict {
                SolutionVerdict::Accepted => 0,
                SolutionVerdict::Rejected(RejectReason::Stale) => 1,
                SolutionVerdict::Rejected(RejectReason::BelowTarget) => 2,
                SolutionVerdict::Rejected(RejectReason::Duplicate) => 3,
                SolutionVerdict::Rejected(RejectReason::NotBetter) => 4,
                SolutionVerdict::Rejected(RejectReason::NodeIdle) => 5,
                SolutionVerdict::Rejected(RejectReason::InvalidNonce) => 6,
                SolutionVerdict::Rejected(RejectReason::NotTaken) => 7,
            });
            w.bytes(difficulty_raw);
        }
        Message::VerifyBatch { batch_id, items } => {
            w.u64(*batch_id);
            w.u32(u32::try_from(items.len()).unwrap_or(u32::MAX));
            for item in items {
                w.bytes(&item.key);
                w.bytes(&item.message);
                w.bytes(&item.signature);
            }
        }
        Message::VerifyResult { batch_id, verdicts } => {
            w.u64(*batch_id);
            w.u32(u32::try_from(verdicts.len()).unwrap_or(u32::MAX));
            let mut packed = vec![0u8; verdicts.len().div_ceil(8)];
            for (i, &v) in verdicts.iter().enumerate() {
                packed[i / 8] |= u8::from(v) << (i % 8);
            }
            w.0.extend_from_slice(&packed);
        }
        Message::Idle { reason, detail } => {
            w.u8(match reason {
                IdleReason::Cooldown => 1,
                IdleReason::Syncing => 2,
                IdleReason::Unreachable => 3,
            });
            w.text(detail);
        }
        Message::Heartbeat { sent_at_ms } => w.u64(*sent_at_ms),
        Message::Stats { done, rate } => {
            w.u64(*done);
            w.f64(*rate);
        }
        Message::Error { code, message } => {
            w.u16(*code);
            w.text(message);
        }
    }
    let payload = out.len() - start - HEADER_LEN;
    #[allow(clippy::expect_used)]
    let len = u32::try_from(payload).expect("payload below 4 GiB");
    out[start + 6..start + HEADER_LEN].copy_from_slice(&len.to_le_bytes());
}

/// The frame of `message` as a new vector.
#[must_use]
pub fn to_frame(message: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode(message, &mut out);
    out
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated(field));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    fn f64(&mut self, field: &'static str) -> Result<f64, DecodeError> {
        let v = f64::from_bits(self.u64(field)?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(DecodeError::Invalid {
                field,
                detail: "not a finite number".into(),
            })
        }
    }
    fn count(&mut self, len: u64, max: usize, field: &'static str) -> Result<usize, DecodeError> {
        usize::try_from(len)
            .ok()
            .filter(|&n| n <= max)
            .ok_or(DecodeError::FieldTooLong {
                field,
                len,
                max: max as u64,
            })
    }
    fn bytes(&mut self, max: usize, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        let len = self.u32(field)?;
        let n = self.count(u64::from(len), max, field)?;
        Ok(self.take(n, field)?.to_vec())
    }
    fn text(&mut self, max: usize, field: &'static str) -> Result<String, DecodeError> {
        String::from_utf8(self.bytes(max, field)?).map_err(|_| DecodeError::Invalid {
            field,
            detail: "not UTF-8".into(),
        })
    }
    fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(DecodeError::Invalid {
                field,
                detail: format!("{v} is not 0 or 1"),
            }),
        }
    }
}

fn invalid(field: &'static str, value: u8) -> DecodeError {
    DecodeError::Invalid {
        field,
        detail: format!("unknown value {value}"),
    }
}

fn decode_payload(kind: u8, payload: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader { rest: payload };
    let message = match kind {
        1 => {
            let role = match r.u8("role")? {
                1 => Role::Miner,
                2 => Role::Verifier,
                v => return Err(invalid("role", v)),
            };
            let protocol_version = r.u8("protocol version")?;
            let worker_name = r.text(MAX_NAME, "worker name")?;
            let n = r.u16("backend count")?;
            let n = r.count(u64::from(n), MAX_BACKENDS, "backend count")?;
            let backends = (0..n)
                .map(|_| r.text(MAX_NAME, "backend name"))
                .collect::<Result<_, _>>()?;
            let measured_rate = r.f64("measured rate")?;
            Message::Hello {
                role,
                protocol_version,
                worker_name,
                backends,
                measured_rate,
            }
        }
        2 => Message::Welcome {
            session_id: r.u64("session id")?,
            nonce_prefix: r.bytes(MAX_NONCE_PREFIX, "nonce prefix")?,
        },
        3 => Message::Job {
            job_id: r.u64("job id")?,
            block_height: r.u64("block height")?,
            challenge_prefix: r.bytes(MAX_PREFIX, "challenge prefix")?,
            min_difficulty_raw: r.bytes(MAX_RAW_NUMBER, "minimum difficulty")?,
            best_difficulty_raw: r.bytes(MAX_RAW_NUMBER, "best difficulty")?,
            replace_now: r.flag("replace now")?,
        },
        4 => Message::Solution {
            job_id: r.u64("job id")?,
            nonce: r.bytes(MAX_NONCE, "nonce")?,
        },
        5 => {
            let job_id = r.u64("job id")?;
            let nonce = r.bytes(MAX_NONCE, "nonce")?;
            let verdict = match r.u8("verdict")? {
                0 => SolutionVerdict::Accepted,
                1 => SolutionVerdict::Rejected(RejectReason::Stale),
                2 => SolutionVerdict::Rejected(RejectReason::BelowTarget),
                3 => SolutionVerdict::Rejected(RejectReason::Duplicate),
                4 => SolutionVerdict::Rejected(RejectReason::NotBetter),
                5 => SolutionVerdict::Rejected(RejectReason::NodeIdle),
                6 => SolutionVerdict::Rejected(RejectReason::InvalidNonce),
                7 => SolutionVerdict::Rejected(RejectReason::NotTaken),
                v => return Err(invalid("verdict", v)),
            };
            Message::SolutionVerdict {
                job_id,
                nonce,
                verdict,
                difficulty_raw: r.bytes(MAX_RAW_NUMBER, "difficulty")?,
            }
        }
        6 => {
            let batch_id = r.u64("batch id")?;
            let n = r.u32("item count")?;
            let n = r.count(u64::from(n), MAX_ITEMS, "item count")?;
            let mut items = Vec::with_capacity(n.min(1024));
            for _ in 0..n {
                items.push(VerifyItem {
                    key: r.bytes(MAX_KEY, "key")?,
                    message: r.bytes(MAX_MESSAGE, "message")?,
                    signature: r.bytes(MAX_SIGNATURE, "signature")?,
                });
            }
            Message::VerifyBatch { batch_id, items }
        }
        7 => {
            let batch_id = r.u64("batch id")?;
            let n = r.u32("verdict count")?;
            let n = r.count(u64::from(n), MAX_ITEMS, "verdict count")?;
            let packed = r.take(n.div_ceil(8), "verdicts")?;
            if n % 8 != 0 && packed.last().is_some_and(|&b| b >> (n % 8) != 0) {
                return Err(DecodeError::Invalid {
                    field: "verdicts",
                    detail: "bits set past the last verdict".into(),
                });
            }
            let verdicts = (0..n).map(|i| packed[i / 8] >> (i % 8) & 1 == 1).collect();
            Message::VerifyResult { batch_id, verdicts }
        }
        8 => {
            let reason = match r.u8("idle reason")? {
                1 => IdleReason::Cooldown,
                2 => IdleReason::Syncing,
                3 => IdleReason::Unreachable,
                v => return Err(invalid("idle reason", v)),
            };
            Message::Idle {
                reason,
                detail: r.text(MAX_TEXT, "idle detail")?,
            }
        }
        9 => Message::Heartbeat {
            sent_at_ms: r.u64("heartbeat time")?,
        },
        10 => Message::Stats {
            done: r.u64("done count")?,
            rate: r.f64("rate")?,
        },
        11 => Message::Error {
            code: r.u16("error code")?,
            message: r.text(MAX_TEXT, "error message")?,
        },
        other => return Err(DecodeError::UnknownType(other)),
    };
    if r.rest.is_empty() {
        Ok(message)
    } else {
        Err(DecodeError::TrailingBytes(r.rest.len()))
    }
}

/// Decodes one frame from the front of `input`, advancing it past the frame.
///
/// Returns `Ok(None)` (leaving `input` untouched) while the frame is incomplete. A header that
/// is already wrong (magic, version, type, flags, size) is an error at once, before the payload
/// arrives, so an oversized frame is never buffered.
///
/// # Errors
/// [`DecodeError`] naming what is wrong.
pub fn decode(input: &mut &[u8]) -> Result<Option<Message>, DecodeError> {
    let data = *input;
    let header_so_far = &data[..data.len().min(HEADER_LEN)];
    // Check what has arrived of the header at once.
    let magic_part = &header_so_far[..header_so_far.len().min(3)];
    if magic_part != &MAGIC[..magic_part.len()] {
        let mut magic = [0u8; 3];
        magic[..magic_part.len()].copy_from_slice(magic_part);
        return Err(DecodeError::BadMagic(magic));
    }
    if let Some(&version) = header_so_far.get(3)
        && version != PROTOCOL_VERSION
    {
        return Err(DecodeError::UnsupportedVersion(version));
    }
    if let Some(&kind) = header_so_far.get(4)
        && !(1..=11).contains(&kind)
    {
        return Err(DecodeError::UnknownType(kind));
    }
    if let Some(&flags) = header_so_far.get(5)
        && flags != 0
    {
        return Err(DecodeError::BadFlags(flags));
    }
    if data.len() < HEADER_LEN {
        return Ok(None);
    }
    let len = u32::from_le_bytes([data[6], data[7], data[8], data[9]]);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > MAX_PAYLOAD {
        return Err(DecodeError::Oversized {
            len: len as u64,
            max: MAX_PAYLOAD as u64,
        });
    }
    let Some(payload) = data.get(HEADER_LEN..HEADER_LEN + len) else {
        return Ok(None);
    };
    let message = decode_payload(data[4], payload)?;
    *input = &data[HEADER_LEN + len..];
    Ok(Some(message))
}

/// A decoder that buffers a byte stream and yields whole messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
}

impl Decoder {
    /// An empty decoder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete message, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// [`DecodeError`]; the stream is unusable after one (the caller closes it).
    pub fn next_message(&mut self) -> Result<Option<Message>, DecodeError> {
        let mut rest = &self.buffer[..];
        let message = decode(&mut rest)?;
        let used = self.buffer.len() - rest.len();
        self.buffer.drain(..used);
        Ok(message)
    }

    /// Bytes buffered but not yet decoded.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }
}
