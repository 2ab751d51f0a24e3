//! Frames: encoding, and a decoder that takes whatever bytes have arrived.
//!
//! Frame: `"IXL"` magic, protocol version, message code, flags (0), payload length (u32 LE),
//! payload. Payload fields are little-endian integers, one-byte enum codes, u32-length-prefixed
//! byte strings, lists (a u16 count of names, a u32 count of message parts) and verdicts packed
//! eight to a byte after a u32 count, each with its own limit ([`crate::message::limits`]).

use crate::error::DecodeError;
use crate::message::{Message, PROTOCOL_VERSION, Wire, limits};

/// Frame magic.
pub const MAGIC: [u8; 3] = *b"IXL";
/// Bytes before the payload: magic, version, code, flags, u32 length.
pub const HEADER_LEN: usize = 10;
/// Largest payload: a verification batch of a few thousand RSA-4096 transactions.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Appends fields to a payload.
pub(crate) struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    /// A count that a u16 holds; a larger one saturates and the peer refuses it.
    fn count16(&mut self, n: usize) {
        self.u16(u16::try_from(n).unwrap_or(u16::MAX));
    }
    /// A count that a u32 holds; a larger one saturates and the peer refuses it.
    fn count32(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn raw(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.count32(v.len());
        self.raw(v);
    }
    pub(crate) fn text(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    /// A u16 count, then each name.
    pub(crate) fn names(&mut self, v: &[String]) {
        self.count16(v.len());
        for t in v {
            self.text(t);
        }
    }
    /// A u32 count, then the verdicts packed eight to a byte, the first in the lowest bit.
    pub(crate) fn verdicts(&mut self, v: &[bool]) {
        self.count32(v.len());
        let mut packed = vec![0u8; v.len().div_ceil(8)];
        for (i, &b) in v.iter().enumerate() {
            packed[i / 8] |= u8::from(b) << (i % 8);
        }
        self.raw(&packed);
    }
}

/// A field as it is written: the type gives the layout ([`Reader`] reads it back with the
/// field's limit and checks).
pub(crate) trait Put {
    fn put(&self, w: &mut Writer<'_>);
}

/// `Put` for each field type, by the [`Writer`] method that writes it.
macro_rules! put {
    ($($ty:ty => $write:expr;)*) => {
        $(
            impl Put for $ty {
                fn put(&self, w: &mut Writer<'_>) {
                    let write: fn(&mut Writer<'_>, &$ty) = $write;
                    write(w, self);
                }
            }
        )*
    };
}

put! {
    u8 => |w, v| w.u8(*v);
    u16 => |w, v| w.u16(*v);
    u64 => |w, v| w.u64(*v);
    f64 => |w, v| w.f64(*v);
    bool => |w, v| w.u8(u8::from(*v));
    Vec<u8> => |w, v| w.bytes(v);
    Vec<bool> => |w, v| w.verdicts(v);
    String => |w, v| w.text(v);
    Vec<String> => |w, v| w.names(v);
}

/// A list of message parts: a u32 count, then each part's fields.
impl<T: Wire> Put for Vec<T> {
    fn put(&self, w: &mut Writer<'_>) {
        w.count32(self.len());
        for item in self {
            item.encode(w);
        }
    }
}

/// An enum written as a one-byte code ([`Put`] writes it).
pub(crate) trait Code: Put + Sized {
    /// The value with this code, if any.
    fn from_code(code: u8) -> Option<Self>;
}

/// What a [`Reader`] gives back.
type Decoded<T> = Result<T, DecodeError>;

/// Reads fields from a payload, each checked against its limit before it is copied.
pub(crate) struct Reader<'a> {
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
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    /// A rate: finite, from 0 to [`limits::RATE`].
    pub(crate) fn rate(&mut self, field: &'static str) -> Result<f64, DecodeError> {
        let v = f64::from_bits(self.u64(field)?);
        if (0.0..=limits::RATE).contains(&v) {
            Ok(v)
        } else {
            Err(DecodeError::Invalid {
                field,
                detail: format!("{v} is not a rate from 0 to {:e}", limits::RATE),
            })
        }
    }
    /// A count of `N` little-endian bytes, at most `max`.
    fn count<const N: usize>(
        &mut self,
        max: usize,
        field: &'static str,
    ) -> Result<usize, DecodeError> {
        let mut le = [0u8; 8];
        le[..N].copy_from_slice(&self.array::<N>(field)?);
        let len = u64::from_le_bytes(le);
        usize::try_from(len)
            .ok()
            .filter(|&n| n <= max)
            .ok_or(DecodeError::FieldTooLong {
                field,
                len,
                max: max as u64,
            })
    }
    fn count16(&mut self, max: usize, field: &'static str) -> Decoded<usize> {
        self.count::<2>(max, field)
    }
    fn count32(&mut self, max: usize, field: &'static str) -> Decoded<usize> {
        self.count::<4>(max, field)
    }
    pub(crate) fn bytes(
        &mut self,
        max: usize,
        field: &'static str,
    ) -> Result<Vec<u8>, DecodeError> {
        let n = self.count32(max, field)?;
        Ok(self.take(n, field)?.to_vec())
    }
    pub(crate) fn text(&mut self, max: usize, field: &'static str) -> Result<String, DecodeError> {
        String::from_utf8(self.bytes(max, field)?).map_err(|_| DecodeError::Invalid {
            field,
            detail: "not UTF-8".into(),
        })
    }
    /// An enum's one-byte code.
    pub(crate) fn code<T: Code>(&mut self, field: &'static str) -> Decoded<T> {
        let v = self.u8(field)?;
        T::from_code(v).ok_or_else(|| DecodeError::unknown(field, v))
    }
    /// A list of names: a u16 count of at most `max` (named `count_field`), then each name of
    /// at most [`limits::NAME`] bytes (named `field`).
    pub(crate) fn names(
        &mut self,
        max: usize,
        count_field: &'static str,
        field: &'static str,
    ) -> Decoded<Vec<String>> {
        let n = self.count16(max, count_field)?;
        (0..n).map(|_| self.text(limits::NAME, field)).collect()
    }
    /// A list of message parts: a u32 count of at most `max`, then each part, read by its own
    /// checks.
    pub(crate) fn list<T: Wire>(&mut self, max: usize, field: &'static str) -> Decoded<Vec<T>> {
        let n = self.count32(max, field)?;
        // Grown as items arrive: the count alone reserves little.
        let mut items = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            items.push(T::decode(self)?);
        }
        Ok(items)
    }
    /// Packed verdicts: a u32 count of at most `max` (`verdict count`), then the verdicts eight
    /// to a byte (`verdicts`), with no bit set past the last one.
    pub(crate) fn verdicts(&mut self, max: usize) -> Decoded<Vec<bool>> {
        let n = self.count32(max, "verdict count")?;
        let packed = self.take(n.div_ceil(8), "verdicts")?;
        if n % 8 != 0 && packed.last().is_some_and(|&b| b >> (n % 8) != 0) {
            return Err(DecodeError::Invalid {
                field: "verdicts",
                detail: "bits set past the last verdict".into(),
            });
        }
        Ok((0..n).map(|i| packed[i / 8] >> (i % 8) & 1 == 1).collect())
    }
    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
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

/// Appends the frame of `message` to `out`.
///
/// # Panics
/// Never for messages within the limits; a payload above 4 GiB cannot be framed.
pub fn encode(message: &Message, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[PROTOCOL_VERSION, message.code(), 0, 0, 0, 0, 0]);
    message.encode_payload(&mut Writer(out));
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

/// Decodes one frame from the front of `input`, advancing it past the frame.
///
/// Returns `Ok(None)` (leaving `input` untouched) while the frame is incomplete. A header that
/// is already wrong (magic, version, code, flags, size) is an error at once, before the payload
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
    if let Some(&code) = header_so_far.get(4)
        && !Message::is_known_code(code)
    {
        return Err(DecodeError::UnknownType(code));
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
    let mut reader = Reader { rest: payload };
    let message = Message::decode_payload(data[4], &mut reader)?;
    if !reader.rest.is_empty() {
        return Err(DecodeError::TrailingBytes(reader.rest.len()));
    }
    *input = &data[HEADER_LEN + len..];
    Ok(Some(message))
}

/// A decoder that buffers a byte stream and yields whole messages.
///
/// Bounded: a frame's header is checked as soon as it arrives, so the buffer holds at most one
/// frame of at most [`MAX_PAYLOAD`] bytes plus the chunk being pushed, provided the caller takes
/// the messages out ([`Decoder::next_message`]) after each push.
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
