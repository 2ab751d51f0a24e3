//! `ixi-verifier`: batch RSA signature verification with exactly the reference node's verdicts.
//!
//! The Ixian node verifies with `RSA.VerifyData(data, sig, SHA512, Pkcs1)`, which on Linux is
//! OpenSSL: RSASSA-PKCS1-v1_5 with SHA-512 over the message bytes. A signature is valid iff
//!
//! - it is exactly as long as the modulus (`k` bytes, the modulus without leading zeros),
//! - as a big-endian integer `s` it is below `n`,
//! - `s^e mod n`, written in `k` bytes, equals `00 01 FF…FF 00 ‖ DigestInfo(SHA-512) ‖ H`
//!   byte for byte, with the DigestInfo exactly DER (its NULL parameter included).
//!
//! Keys come in the Ixian layout ([`ixi_formats::pubkey`]) or as modulus and exponent; they are
//! parsed and their Montgomery constants computed once ([`VerifyingKey`]), and cached across
//! blocks ([`KeyCache`]). A [`Batch`] returns one verdict per item from a backend:
//!
//! - [`backend::ScalarBackend`]: aws-lc-rs for the keys it takes, an exact portable path for
//!   the rest; items spread over the thread pool;
//! - [`backend::IfmaBackend`]: eight signatures per AVX-512 IFMA vector, each lane with its own
//!   key, 52-bit limbs ([`ixi_kernels::mont`]).
//! - `backend::gpu::WgpuBackend` (the `gpu` feature, on by default): the WGSL kernel of
//!   [`ixi_kernels::rsa_wgsl`] on a GPU through wgpu, the encoding compared on the GPU, with the
//!   IFMA or scalar backend beside it for keys over 4096 bits, exponents over 64 bits, and any
//!   batch a device fault interrupted.

pub mod backend;
mod batch;
mod cache;
pub mod context;
mod digest;
mod error;
mod item;
mod key;
pub mod padding;

pub use batch::Batch;
pub use cache::KeyCache;
pub use error::{BatchError, KeyRejected, VerifyError};
pub use item::VerifyItem;
pub use key::VerifyingKey;

/// Verifies one signature on the scalar path; the error says nothing about why.
///
/// # Errors
/// [`VerifyError`] when the signature is not valid for `message` under `key`.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
    if backend::verify_one_scalar(key, message, signature) {
        Ok(())
    } else {
        Err(VerifyError)
    }
}
