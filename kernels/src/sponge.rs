//! The SHA3-512 sponge over [`f1600`] with the scalar lane: the pieces the midstate is built
//! from (whole blocks absorbed, the padded final block). Tested against the `sha3` crate; the
//! optimized paths are checked against that crate, never against this module.

use crate::keccak::f1600;

/// SHA3-512 rate in bytes (1600 - 2*512 bits).
pub const RATE: usize = 72;
/// Lanes in one rate block.
pub const RATE_LANES: usize = RATE / 8;

/// XORs a full rate block into the state and permutes.
#[inline]
pub fn absorb_block(state: &mut [u64; 25], block: &[u8; RATE]) {
    for (lane, chunk) in state.iter_mut().zip(block.chunks_exact(8)) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        *lane ^= u64::from_le_bytes(bytes);
    }
    f1600(state);
}

/// Absorbs every full block of `data` (its length must be a multiple of [`RATE`]).
///
/// # Panics
/// If `data.len()` is not a multiple of [`RATE`].
pub fn absorb_full_blocks(state: &mut [u64; 25], data: &[u8]) {
    assert!(
        data.len().is_multiple_of(RATE),
        "absorb_full_blocks needs whole blocks"
    );
    for block in data.chunks_exact(RATE) {
        let mut b = [0u8; RATE];
        b.copy_from_slice(block);
        absorb_block(state, &b);
    }
}

/// The last block of a message whose tail (fewer than [`RATE`] bytes) is `tail`, with SHA-3
/// padding (`0x06 … 0x80`).
#[must_use]
pub fn final_block(tail: &[u8]) -> [u8; RATE] {
    debug_assert!(tail.len() < RATE);
    let mut block = [0u8; RATE];
    block[..tail.len()].copy_from_slice(tail);
    block[tail.len()] ^= 0x06;
    block[RATE - 1] ^= 0x80;
    block
}

/// The first 64 bytes of the state, little-endian lanes 0..8.
#[must_use]
pub fn squeeze_64(state: &[u64; 25]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (chunk, lane) in out.chunks_exact_mut(8).zip(state) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// SHA3-512 of `data`.
#[must_use]
pub fn sha3_512(data: &[u8]) -> [u8; 64] {
    let mut state = [0u64; 25];
    let full = data.len() - data.len() % RATE;
    absorb_full_blocks(&mut state, &data[..full]);
    absorb_block(&mut state, &final_block(&data[full..]));
    squeeze_64(&state)
}
