//! `ixi-verifier`: batch RSA PKCS#1 v1.5 SHA-512 verification with exactly the reference node's
//! verdicts.
//!
//! Not built yet: this crate reserves its place in the workspace layout. Keys are parsed by
//! `ixi_formats::pubkey`, which already implements the Ixian key layout.
