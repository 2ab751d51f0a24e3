//! Decoding errors. Each names what was wrong; none is a panic.

/// Why bytes are not a valid frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame does not start with the `IXL` magic.
    #[error("bad frame magic {0:02x?}: not an ixi link frame")]
    BadMagic([u8; 3]),
    /// A protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u8),
    /// A message type this build does not know.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// Flags must be zero in this version.
    #[error("unsupported frame flags {0:#04x}")]
    BadFlags(u8),
    /// A payload above the frame limit.
    #[error("frame payload of {len} bytes exceeds the limit of {max}")]
    Oversized {
        /// Announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The payload ended inside a field.
    #[error("payload truncated in {0}")]
    Truncated(&'static str),
    /// A field above its own limit.
    #[error("{field} of {len} exceeds the limit of {max}")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its announced length or count.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A field with a value outside its domain.
    #[error("invalid {field}: {detail}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Bytes left in the payload after the message.
    #[error("{0} trailing bytes after the message")]
    TrailingBytes(usize),
}
