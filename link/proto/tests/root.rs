//! ixi-link-proto tests: frames (round trips, malformed input) and both ends of a session
//! against each other with simulated time.

// Test code: a failed expectation is a panic by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation,
    clippy::panic
)]

mod codec;
mod session_sim;

/// What both test modules build messages from.
mod support {
    use ixi_link_proto::VerifyItem;

    /// One RSA-2048-sized item: an Ixian key layout, a message, a signature.
    pub(crate) fn sample_item() -> VerifyItem {
        VerifyItem {
            key: vec![2; 272],
            message: vec![3; 64],
            signature: vec![4; 256],
        }
    }
}
