//! SHA-512 of many messages: eight at a time in AVX-512 lanes where the CPU has them, with the
//! `sha2` crate elsewhere.

use ixi_kernels::cpu::Avx512Token;
use sha2::{Digest as _, Sha512};

/// SHA-512 of each of `messages` into `out` (one digest per message, `out.len()` of them).
pub(crate) fn sha512_into(avx512: Option<Avx512Token>, messages: &[&[u8]], out: &mut [[u8; 64]]) {
    match avx512 {
        #[cfg(target_arch = "x86_64")]
        Some(token) => {
            for (m, o) in messages.chunks(8).zip(out.chunks_mut(8)) {
                ixi_kernels::sha512::digest8(token, m, o);
            }
        }
        _ => {
            for (m, o) in messages.iter().zip(out) {
                *o = Sha512::digest(m).into();
            }
        }
    }
}
