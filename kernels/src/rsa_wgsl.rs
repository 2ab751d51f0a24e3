//! The GPU RSA kernel: batched public-key operations `s^e mod n` in WGSL, generated here, the
//! buffer layouts it reads, the per-key constants, and a CPU model of exactly what it computes.
//!
//! # Limbs: exact products, no carry in the inner loop
//!
//! WGSL has no 32×32→64-bit multiply-high, and `u64` is an optional feature (`SHADER_INT64`).
//! Both variants use limbs small enough that a product is exact in the accumulator type and
//! several products can be summed before anything must be carried:
//!
//! | variant | limbs | accumulator | products summed between carries | limbs for 4096 bits |
//! |---------|-------|-------------|---------------------------------|---------------------|
//! | [`Variant::U32`] | 13 bits in `u32` | `u32` | 2 per step × 20 steps | 320 |
//! | [`Variant::U64`] | 29 bits in `u32` | `u64` | 2 per step × 18 steps | 144 |
//!
//! Each product is one multiply-add into its accumulator (on NVIDIA one `IMAD`, or one
//! `IMAD.WIDE.U32` for the `u64` variant; the operands stay `u32`, so the driver sees a
//! 32×32→64 product). 16-bit limbs would need the product split into halves at every step
//! (a shift, a mask and two adds per product); 32-bit limbs emulated through 16-bit halves cost
//! four multiplies and a dozen adds. 13 and 29 bits are the widest limbs for which a block of
//! `D` = 20 (18) steps fits the accumulator (14 bits would need a carry round every 7 steps);
//! the bound is checked at compile time ([`Variant::accumulator_bound`]) and, on every input,
//! by the model ([`model`]).
//!
//! # Cooperation: one item per `T` invocations, row-by-row CIOS through workgroup memory
//!
//! One invocation cannot hold a 4096-bit operand, the modulus and a double-width accumulator
//! (≈ 1000 registers at 13-bit limbs). `T` invocations (a power of two, per key size: 16 for
//! RSA-4096 and 8 for RSA-2048 in `U32`; 8 and 4 in `U64`) share one item; invocation `j` holds
//! limbs `jD .. jD + D` (`D` = [`Variant::slice_limbs`]) of the operand `b`, of the modulus and
//! of the accumulator, all in registers. The multiplication is the operand-scanning Montgomery
//! product (CIOS), one row per step, `L = T·D` steps:
//!
//! - every invocation adds `a_i·b_k + q_i·n_k` to its `D` accumulators (`2D` multiply-adds);
//!   `a_i` is read from workgroup memory (a broadcast: every invocation of the item reads the
//!   same word) and `q_i` from the word the item's first invocation published;
//! - the accumulator shifts down one limb: each invocation passes its lowest limb to the one
//!   below through workgroup memory; inside an invocation the shift is a renaming (the step loop
//!   is unrolled `D` times over a ring of registers), so it costs no moves;
//! - the first invocation, whose lowest limb is now divisible by `2^w`, carries it into the
//!   next limb and already computes `q_{i+1}` from its own registers, so one barrier per step
//!   suffices (the exchange words and `q` are double-buffered by step parity);
//! - every `D` steps each limb keeps its low `w` bits and passes the rest one limb up (three
//!   operations per limb, no barrier: the top limb's excess is added to the word that arrives
//!   from above at the next step).
//!
//! After `L` steps two rounds of local carrying with one exchange each leave every limb at most
//! `2^w` (not necessarily below it), which the next multiplication accepts. The result is
//! *almost* Montgomery (`< 2n`, `R = 2^(wL) > 4n`), as in [`crate::mont`]; only the final result
//! is reduced, by the item's first invocation, limb after limb.
//!
//! Items of one dispatch share `T` and the exponent (both uniform, so every barrier is in
//! uniform control flow); the host groups a batch by (key size class, exponent), e = 65537 being
//! one group. `e = 65537` costs 1 conversion + 16 squarings + 1 multiplication by the plain
//! signature (which leaves the result in ordinary form): 18 products. Any other exponent of up
//! to 64 bits runs left-to-right square-and-multiply, `s·R mod n` kept in workgroup memory.
//!
//! # Cost estimate (RSA-4096, e = 65537)
//!
//! Per product `2L²` multiply-adds: `U32` 204,800 (`L = 320`), `U64` 41,472 wide ones
//! (`L = 144`). Per verification ×18: `U32` 3.7 M `IMAD`, `U64` 0.75 M `IMAD.WIDE` (about
//! 1.5 M `IMAD` issue slots). Per step and invocation the overhead is one barrier, three
//! workgroup-memory reads, one write and about a dozen integer operations beside the `2D = 40`
//! (`U32`) multiply-adds. An H100/H200 (132 SMs, 64 `IMAD`/clock/SM, ≈1.9 GHz) does about
//! 1.6·10¹³ `IMAD`/s: a ceiling of ≈ 4.3 M/s for `U32` and ≈ 10 M/s for `U64`; at the 30–50 % of
//! peak such kernels usually reach, ≈ 1.3–2 M/s (`U32`) and ≈ 3–5 M/s (`U64`). These are
//! estimates from operation counts, not measurements.
//!
//! # The encoding comparison is on the GPU
//!
//! `verify` compares `s^e mod n` with the PKCS#1 v1.5 SHA-512 encoding on the GPU and writes one
//! verdict word per item. The encoding is a constant for the key length except its last 64
//! bytes, so the GPU receives only the digest (64 bytes per item) and builds the rest from the
//! key's byte length; the readback is 4 bytes per item instead of `k` (512 for RSA-4096), and the
//! host never touches the results. The verdict words are magic values ([`Verdict`]): a buffer the
//! GPU did not write (cleared to zero) or wrote wrongly is recognised as a device fault. The
//! `exponentiate` entry point writes `s^e mod n` itself (tests, diagnostics).
//!
//! # Buffers
//!
//! | binding | contents | Rust |
//! |---------|----------|------|
//! | 0, uniform | one dispatch: item range, `T`, `L`, exponent, its signature slots | [`GpuParams`] |
//! | 1, storage | per key: `n`, `R² mod n` (32-bit words), `n0'`, length, `T`, `L` | [`GpuKey`] |
//! | 2, storage | per item: key index, digest words | [`GpuItem`] |
//! | 3, storage | per item: signature as little-endian 32-bit words, in the dispatch's slots | `u32` |
//! | 4, storage | per item: a [`Verdict`] word (`verify`), or a result slot (`exponentiate`) | `u32` |
//!
//! Keys are uploaded once; the invocations extract their limbs from the 32-bit words (a funnel
//! shift per limb, once per item). The host must check, before upload, that a signature is
//! exactly `k` bytes and below `n` ([`GpuKey::load_signature`] does both), and clear the output
//! range before each dispatch (a stale verdict word would otherwise pass for an answer).
//!
//! # Left for measurement on real GPUs
//!
//! The workgroup size is an override (a multiple of `T`); `D` is fixed per variant (changing it
//! means regenerating). Subgroup shuffles could replace the per-step exchange where the adapter
//! has them; squarings could skip half of the `a_i·b_k` products; the final reduction (one
//! invocation per item, a few thousand operations, ≈ 2 % of the work) could be spread over the
//! item's invocations. None of this is needed for exactness.

mod generate;
pub mod model;

use std::sync::LazyLock;

use bytemuck::{Pod, Zeroable};
use num_bigint::BigUint;
use num_traits::One as _;

pub use generate::generate;

/// Workgroup size the shaders declare by default (the `WORKGROUP_SIZE` override). It must be
/// a multiple of every dispatch's `threads`.
pub const DEFAULT_WORKGROUP_SIZE: u32 = 64;
/// Largest modulus the kernel takes.
pub const MAX_MODULUS_BITS: usize = 4096;
/// 32-bit words of a modulus (and of `R² mod n`) in a [`GpuKey`].
pub const MODULUS_WORDS: usize = MAX_MODULUS_BITS / 32;
/// 32-bit words of a SHA-512 digest.
pub const DIGEST_WORDS: usize = 16;
/// DER of `DigestInfo { AlgorithmIdentifier { id-sha512, NULL }, OCTET STRING (64) }` up to the
/// digest (RFC 8017 §9.2, note 1).
pub const SHA512_DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];
/// Shortest PKCS#1 v1.5 SHA-512 encoding: `00 01`, eight `FF`, `00`, the DigestInfo, the digest.
pub const MIN_ENCODED_LEN: usize = 11 + SHA512_DIGEST_INFO.len() + 64;

/// Which limb and accumulator representation a shader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// 13-bit limbs, `u32` accumulators: every adapter.
    U32,
    /// 29-bit limbs in `u32`, `u64` accumulators: adapters with `SHADER_INT64`.
    U64,
}

impl Variant {
    /// Both variants.
    pub const ALL: [Self; 2] = [Self::U32, Self::U64];

    /// The shader text of this variant: [`generate`]'s output, written once per process.
    #[must_use]
    pub fn source(self) -> &'static str {
        static U32: LazyLock<String> = LazyLock::new(|| generate(Variant::U32));
        static U64: LazyLock<String> = LazyLock::new(|| generate(Variant::U64));
        match self {
            Self::U32 => &U32,
            Self::U64 => &U64,
        }
    }

    /// A short name for logs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::U32 => "u32",
            Self::U64 => "u64",
        }
    }

    /// Whether the shader needs 64-bit integers (`SHADER_INT64`).
    #[must_use]
    pub fn needs_int64(self) -> bool {
        self == Self::U64
    }

    /// Bits per limb, `w`.
    #[must_use]
    pub const fn limb_bits(self) -> u32 {
        match self {
            Self::U32 => 13,
            Self::U64 => 29,
        }
    }

    /// `2^w - 1`.
    #[must_use]
    pub const fn limb_mask(self) -> u32 {
        (1 << self.limb_bits()) - 1
    }

    /// Limbs each invocation holds, `D` (even: the step parity is then static in the unrolled
    /// block).
    #[must_use]
    pub const fn slice_limbs(self) -> usize {
        match self {
            Self::U32 => 20,
            Self::U64 => 18,
        }
    }

    /// Largest value an accumulator holds: `2^32 - 1` or `2^64 - 1`.
    #[must_use]
    pub const fn accumulator_max(self) -> u128 {
        match self {
            Self::U32 => u32::MAX as u128,
            Self::U64 => u64::MAX as u128,
        }
    }

    /// A bound on every accumulator inside a multiplication whose inputs have limbs of at most
    /// `2^w`: after a carry round a limb is at most `2^w - 1` plus an excess below
    /// `max / 2^w`; then `D` steps add two products of at most `2^(2w)` each; it may also take
    /// the excess of the limb below once (the top limb after a carry round) and one carry of the
    /// item's lowest limb (each below `max / 2^w`).
    #[must_use]
    pub const fn accumulator_bound(self) -> u128 {
        let w = self.limb_bits();
        let excess = self.accumulator_max() >> w;
        (1u128 << w) - 1 + 3 * excess + 2 * (self.slice_limbs() as u128) * (1u128 << (2 * w))
    }

    /// Invocations per item (`T`, a power of two) for a modulus of `bits` bits: enough limbs for
    /// `R = 2^(wL) > 4n`.
    #[must_use]
    pub fn threads_for_bits(self, bits: usize) -> u32 {
        let limbs = (bits + 2).div_ceil(self.limb_bits() as usize);
        let threads = limbs.div_ceil(self.slice_limbs()).next_power_of_two();
        // At most MAX_MODULUS_BITS-sized moduli reach here; the count is small.
        u32::try_from(threads).unwrap_or(u32::MAX)
    }
}

const _: () = {
    assert!(Variant::U32.accumulator_bound() <= Variant::U32.accumulator_max());
    assert!(Variant::U64.accumulator_bound() <= Variant::U64.accumulator_max());
    assert!(
        Variant::U32.slice_limbs().is_multiple_of(2)
            && Variant::U64.slice_limbs().is_multiple_of(2)
    );
    // The limb-to-word funnel reads two words: a limb spans at most two.
    assert!(Variant::U32.limb_bits() < 32 && Variant::U64.limb_bits() < 32);
};

/// One item's outcome in the `verify` entry point's output word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `s^e mod n` is the encoding of the digest.
    Valid,
    /// It is not (or the key is too short for a SHA-512 encoding).
    Invalid,
    /// The item's key does not belong in the dispatch (another size class, or a signature
    /// wider than the dispatch's stride): a host error.
    KeyMismatch,
}

impl Verdict {
    /// The word the shader writes ("VALD", "BAD!", "KEY!" in ASCII): never zero, so a word the
    /// GPU did not write is no verdict.
    #[must_use]
    pub const fn word(self) -> u32 {
        match self {
            Self::Valid => 0x5641_4c44,
            Self::Invalid => 0x4241_4421,
            Self::KeyMismatch => 0x4b45_5921,
        }
    }

    /// The verdict a word stands for, or `None` for a word that is none (a device fault).
    #[must_use]
    pub const fn from_word(word: u32) -> Option<Self> {
        match word {
            0x5641_4c44 => Some(Self::Valid),
            0x4241_4421 => Some(Self::Invalid),
            0x4b45_5921 => Some(Self::KeyMismatch),
            _ => None,
        }
    }
}

/// Why a modulus cannot go to the GPU kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuKeyError {
    /// Montgomery arithmetic needs an odd modulus.
    #[error("modulus is even")]
    Even,
    /// Below 2 or above [`MAX_MODULUS_BITS`] bits.
    #[error("modulus of {0} bits is outside 2..=4096")]
    Size(usize),
}

/// Why an item or a dispatch cannot go to the GPU kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuInputError {
    /// A signature must be exactly as long as the modulus.
    #[error("signature of {got} bytes for a {want}-byte modulus")]
    SignatureLength {
        /// The signature's length.
        got: usize,
        /// The modulus's.
        want: usize,
    },
    /// `s >= n`: no valid signature is.
    #[error("signature is not below the modulus")]
    SignatureRange,
    /// The output slice is shorter than the key's words.
    #[error("signature slot of {got} words for a {want}-word key")]
    SlotTooShort {
        /// The slot's length.
        got: usize,
        /// Words the key needs.
        want: usize,
    },
    /// The kernel computes `s^e` for `e >= 1`.
    #[error("exponent is zero")]
    ZeroExponent,
}

/// Per-key constants as the shader's `Key` struct lays them out, computed once per key.
///
/// `n` and `R² mod n` are little-endian 32-bit words (the invocations cut their limbs out of
/// them); `R = 2^(w·limbs)` depends on the [`Variant`], so a key is prepared for one variant.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct GpuKey {
    /// `-n⁻¹ mod 2^w`.
    pub n0inv: u32,
    /// Modulus length in bytes, `k`.
    pub bytes: u32,
    /// Limbs `L = threads · D`.
    pub limbs: u32,
    /// Invocations per item, `T`.
    pub threads: u32,
    /// `n`, least significant word first, zero above.
    pub n: [u32; MODULUS_WORDS],
    /// `R² mod n`, least significant word first.
    pub rr: [u32; MODULUS_WORDS],
}

const _: () = assert!(size_of::<GpuKey>() == 4 * (4 + 2 * MODULUS_WORDS));

/// Per-item header as the shader's `Item` struct lays it out.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct GpuItem {
    /// Index of the item's key in the key buffer.
    pub key: u32,
    /// SHA-512 of the message, as [`digest_words`] lays it out (unused by `exponentiate`).
    pub digest: [u32; DIGEST_WORDS],
}

const _: () = assert!(size_of::<GpuItem>() == 4 * (1 + DIGEST_WORDS));

/// One dispatch's uniform buffer, as the shader's `Params` struct lays it out.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Pod, Zeroable)]
pub struct GpuParams {
    /// Index of the dispatch's first item in the item, signature and output buffers.
    pub first: u32,
    /// Items in the dispatch.
    pub count: u32,
    /// Invocations per item, `T` (every key's [`GpuKey::threads`]).
    pub threads: u32,
    /// Limbs, `L` (every key's [`GpuKey::limbs`]).
    pub limbs: u32,
    /// Exponent, low word.
    pub exponent_lo: u32,
    /// Exponent, high word.
    pub exponent_hi: u32,
    /// 32-bit words per signature slot (and per result slot of `exponentiate`).
    pub signature_words: u32,
    /// Word offset of the dispatch's first signature slot (and result slot) in its buffer.
    pub signature_offset: u32,
}

const _: () = assert!(size_of::<GpuParams>() == 32);

impl GpuParams {
    /// The parameters of a dispatch of `count` items from `first`, all with keys of `key`'s
    /// size class and exponent `exponent`, their signatures in slots of `signature_words` words
    /// from word `signature_offset` on.
    ///
    /// # Errors
    /// [`GpuInputError::ZeroExponent`]; [`GpuInputError::SlotTooShort`] when a slot cannot hold
    /// `key`'s signatures.
    pub fn new(
        key: &GpuKey,
        first: u32,
        count: u32,
        exponent: u64,
        signature_words: u32,
        signature_offset: u32,
    ) -> Result<Self, GpuInputError> {
        if exponent == 0 {
            return Err(GpuInputError::ZeroExponent);
        }
        let want = key.bytes.div_ceil(4);
        if signature_words < want {
            return Err(GpuInputError::SlotTooShort {
                got: signature_words as usize,
                want: want as usize,
            });
        }
        // Low and high halves: the truncation is the point.
        #[expect(clippy::cast_possible_truncation, reason = "the exponent's two halves")]
        let (exponent_lo, exponent_hi) = (exponent as u32, (exponent >> 32) as u32);
        Ok(Self {
            first,
            count,
            threads: key.threads,
            limbs: key.limbs,
            exponent_lo,
            exponent_hi,
            signature_words,
            signature_offset,
        })
    }

    /// The exponent.
    #[must_use]
    pub fn exponent(&self) -> u64 {
        u64::from(self.exponent_lo) | (u64::from(self.exponent_hi) << 32)
    }

    /// Items per workgroup of `workgroup_size` invocations.
    #[must_use]
    pub fn items_per_workgroup(&self, workgroup_size: u32) -> u32 {
        workgroup_size / self.threads.max(1)
    }
}

/// `value` as little-endian 32-bit words into `out` (higher bits dropped).
fn words_into(value: &BigUint, out: &mut [u32]) {
    out.fill(0);
    for (o, d) in out.iter_mut().zip(value.iter_u32_digits()) {
        *o = d;
    }
}

/// A big-endian byte string as little-endian 32-bit words, written into `out` (which must hold
/// `bytes.len().div_ceil(4)` words; zeros above).
fn be_bytes_to_words(bytes: &[u8], out: &mut [u32]) {
    out.fill(0);
    for (o, chunk) in out.iter_mut().zip(bytes.rchunks(4)) {
        *o = chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    }
}

/// Little-endian 32-bit words as `len` big-endian bytes (higher bits dropped): the inverse of
/// the signature layout, for `exponentiate`'s results.
#[must_use]
pub fn words_to_be_bytes(words: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        let word = words.get(i / 4).copied().unwrap_or(0);
        // One byte of the word: the truncation is the point.
        #[expect(clippy::cast_possible_truncation, reason = "one byte of a word")]
        let b = (word >> (8 * (i % 4))) as u8;
        *byte = b;
    }
    out
}

/// A SHA-512 digest as the item's digest words: the encoding's last 16 words, least
/// significant first.
#[must_use]
pub fn digest_words(digest: &[u8; 64]) -> [u32; DIGEST_WORDS] {
    let mut out = [0u32; DIGEST_WORDS];
    be_bytes_to_words(digest, &mut out);
    out
}

/// Words 16..21 of the encoding (bytes 64..84 from its least significant end): the DigestInfo
/// and the zero byte before it. They are the same for every key length.
#[must_use]
pub fn digest_info_words() -> [u32; 5] {
    let mut bytes = [0u8; 20];
    bytes[1..].copy_from_slice(&SHA512_DIGEST_INFO);
    let mut out = [0u32; 5];
    be_bytes_to_words(&bytes, &mut out);
    out
}

impl GpuKey {
    /// Prepares an odd modulus, given big-endian (leading zeros allowed), for `variant`:
    /// `n0' = -n⁻¹ mod 2^w`, `R² mod n` with `R = 2^(w·L)`, and the size class `T`, `L`.
    ///
    /// # Errors
    /// [`GpuKeyError::Even`], or [`GpuKeyError::Size`] outside 2..=4096 bits.
    pub fn from_modulus_be(variant: Variant, modulus: &[u8]) -> Result<Self, GpuKeyError> {
        let (n, bits) = crate::mont::odd_modulus(
            modulus,
            MAX_MODULUS_BITS,
            GpuKeyError::Size,
            GpuKeyError::Even,
        )?;
        let threads = variant.threads_for_bits(bits);
        let limbs = threads * u32::try_from(variant.slice_limbs()).unwrap_or(u32::MAX);
        let w = variant.limb_bits();
        // -n^-1 mod 2^32 by Newton iteration (x <- x(2 - n x) doubles the correct bits), then
        // its low w bits.
        let n0 = n.iter_u32_digits().next().unwrap_or(1);
        let mut inv: u32 = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(n0.wrapping_mul(inv)));
        }
        let n0inv = inv.wrapping_neg() & variant.limb_mask();
        let r2 = (BigUint::one() << (2 * w as usize * limbs as usize)) % &n;
        let mut key = Self {
            n0inv,
            bytes: u32::try_from(bits.div_ceil(8)).unwrap_or(u32::MAX),
            limbs,
            threads,
            n: [0; MODULUS_WORDS],
            rr: [0; MODULUS_WORDS],
        };
        words_into(&n, &mut key.n);
        words_into(&r2, &mut key.rr);
        Ok(key)
    }

    /// The modulus.
    #[must_use]
    pub fn modulus(&self) -> BigUint {
        BigUint::from_slice(&self.n)
    }

    /// Words a signature of this key takes (`k / 4` rounded up).
    #[must_use]
    pub fn signature_words(&self) -> usize {
        self.bytes.div_ceil(4) as usize
    }

    /// Checks a big-endian signature (exactly `k` bytes, below `n`) and writes it into its slot
    /// as little-endian words, zeros above.
    ///
    /// # Errors
    /// [`GpuInputError::SignatureLength`], [`GpuInputError::SignatureRange`], or
    /// [`GpuInputError::SlotTooShort`].
    pub fn load_signature(&self, signature: &[u8], slot: &mut [u32]) -> Result<(), GpuInputError> {
        let want = self.bytes as usize;
        if signature.len() != want {
            return Err(GpuInputError::SignatureLength {
                got: signature.len(),
                want,
            });
        }
        if slot.len() < self.signature_words() {
            return Err(GpuInputError::SlotTooShort {
                got: slot.len(),
                want: self.signature_words(),
            });
        }
        be_bytes_to_words(signature, slot);
        // s < n, compared from the most significant word.
        let below = slot[..self.signature_words()]
            .iter()
            .rev()
            .zip(self.n[..self.signature_words()].iter().rev())
            .find(|(s, n)| s != n)
            .is_some_and(|(s, n)| s < n);
        if !below {
            slot.fill(0);
            return Err(GpuInputError::SignatureRange);
        }
        Ok(())
    }
}
