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

impl DecodeError {
    /// A one-byte field whose value no variant has.
    pub(crate) fn unknown(field: &'static str, value: u8) -> Self {
        Self::Invalid {
            field,
            detail: format!("unknown value {value}"),
        }
    }
}

/// Why a session cannot send a message now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The session is over.
    #[error("the session is closed")]
    Closed,
    /// The other side sends this message, not this one.
    #[error("{message} is not sent by the {side}")]
    WrongSide {
        /// The message's name.
        message: &'static str,
        /// This side: "worker" or "link".
        side: &'static str,
    },
    /// The message belongs to another phase of the session (a Welcome without a Hello
    /// waiting, a Job before the worker is welcomed, a second Hello).
    #[error("{message} cannot be sent {when}")]
    OutOfPhase {
        /// The message's name.
        message: &'static str,
        /// What the session is doing instead.
        when: &'static str,
    },
    /// The message concerns workers of another role.
    #[error("{message} is only for {wanted} sessions, this one is a {actual} session")]
    WrongRole {
        /// The message's name.
        message: &'static str,
        /// The role it concerns.
        wanted: &'static str,
        /// The session's role.
        actual: &'static str,
    },
}
