//! SHA-512 of up to eight messages at once, one message per 64-bit lane of an AVX-512 vector.
//!
//! RSA verification hashes every message once; beside the vector exponentiation a one-message
//! SHA-512 was a tenth of the time. Eight lanes share each round's instructions: rotates are
//! native (`vprorq`), and the three-input functions (`Ch`, `Maj`, the XORs of the Σ/σ
//! functions) are single ternary-logic instructions. Messages of different lengths are padded
//! each on their own; a lane whose message has no more blocks keeps its state while the others
//! go on.

#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m512i, _mm512_add_epi64, _mm512_loadu_si512, _mm512_mask_mov_epi64, _mm512_ror_epi64,
    _mm512_set1_epi64, _mm512_srli_epi64, _mm512_storeu_si512, _mm512_ternarylogic_epi64,
};

#[cfg(target_arch = "x86_64")]
use crate::cpu::Avx512Token;

/// Bytes per block.
const BLOCK_BYTES: usize = 128;

/// The initial hash value (FIPS 180-4, 5.3.5).
const H0: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// The round constants (FIPS 180-4, 4.2.3).
const K: [u64; 80] = [
    0x428a_2f98_d728_ae22,
    0x7137_4491_23ef_65cd,
    0xb5c0_fbcf_ec4d_3b2f,
    0xe9b5_dba5_8189_dbbc,
    0x3956_c25b_f348_b538,
    0x59f1_11f1_b605_d019,
    0x923f_82a4_af19_4f9b,
    0xab1c_5ed5_da6d_8118,
    0xd807_aa98_a303_0242,
    0x1283_5b01_4570_6fbe,
    0x2431_85be_4ee4_b28c,
    0x550c_7dc3_d5ff_b4e2,
    0x72be_5d74_f27b_896f,
    0x80de_b1fe_3b16_96b1,
    0x9bdc_06a7_25c7_1235,
    0xc19b_f174_cf69_2694,
    0xe49b_69c1_9ef1_4ad2,
    0xefbe_4786_384f_25e3,
    0x0fc1_9dc6_8b8c_d5b5,
    0x240c_a1cc_77ac_9c65,
    0x2de9_2c6f_592b_0275,
    0x4a74_84aa_6ea6_e483,
    0x5cb0_a9dc_bd41_fbd4,
    0x76f9_88da_8311_53b5,
    0x983e_5152_ee66_dfab,
    0xa831_c66d_2db4_3210,
    0xb003_27c8_98fb_213f,
    0xbf59_7fc7_beef_0ee4,
    0xc6e0_0bf3_3da8_8fc2,
    0xd5a7_9147_930a_a725,
    0x06ca_6351_e003_826f,
    0x1429_2967_0a0e_6e70,
    0x27b7_0a85_46d2_2ffc,
    0x2e1b_2138_5c26_c926,
    0x4d2c_6dfc_5ac4_2aed,
    0x5338_0d13_9d95_b3df,
    0x650a_7354_8baf_63de,
    0x766a_0abb_3c77_b2a8,
    0x81c2_c92e_47ed_aee6,
    0x9272_2c85_1482_353b,
    0xa2bf_e8a1_4cf1_0364,
    0xa81a_664b_bc42_3001,
    0xc24b_8b70_d0f8_9791,
    0xc76c_51a3_0654_be30,
    0xd192_e819_d6ef_5218,
    0xd699_0624_5565_a910,
    0xf40e_3585_5771_202a,
    0x106a_a070_32bb_d1b8,
    0x19a4_c116_b8d2_d0c8,
    0x1e37_6c08_5141_ab53,
    0x2748_774c_df8e_eb99,
    0x34b0_bcb5_e19b_48a8,
    0x391c_0cb3_c5c9_5a63,
    0x4ed8_aa4a_e341_8acb,
    0x5b9c_ca4f_7763_e373,
    0x682e_6ff3_d6b2_b8a3,
    0x748f_82ee_5def_b2fc,
    0x78a5_636f_4317_2f60,
    0x84c8_7814_a1f0_ab72,
    0x8cc7_0208_1a64_39ec,
    0x90be_fffa_2363_1e28,
    0xa450_6ceb_de82_bde9,
    0xbef9_a3f7_b2c6_7915,
    0xc671_78f2_e372_532b,
    0xca27_3ece_ea26_619c,
    0xd186_b8c7_21c0_c207,
    0xeada_7dd6_cde0_eb1e,
    0xf57d_4f7f_ee6e_d178,
    0x06f0_67aa_7217_6fba,
    0x0a63_7dc5_a2c8_98a6,
    0x113f_9804_bef9_0dae,
    0x1b71_0b35_131c_471b,
    0x28db_77f5_2304_7d84,
    0x32ca_ab7b_40c7_2493,
    0x3c9e_be0a_15c9_bebc,
    0x431d_67c4_9c10_0d4c,
    0x4cc5_d4be_cb3e_42b6,
    0x597f_299c_fc65_7e2a,
    0x5fcb_6fab_3ad6_faec,
    0x6c44_198c_4a47_5817,
];

/// Blocks of `len` bytes once padded: the message, `0x80`, zeros, the 128-bit bit length.
fn padded_blocks(len: usize) -> usize {
    (len + 17).div_ceil(BLOCK_BYTES)
}

/// Block `index` of `message` padded to `padded_blocks(message.len())` blocks, as sixteen
/// big-endian words.
fn padded_block(message: &[u8], index: usize) -> [u64; 16] {
    let len = message.len();
    let start = index * BLOCK_BYTES;
    let mut block = [0u8; BLOCK_BYTES];
    if start < len {
        let part = &message[start..len.min(start + BLOCK_BYTES)];
        block[..part.len()].copy_from_slice(part);
    }
    if (start..start + BLOCK_BYTES).contains(&len) {
        block[len - start] = 0x80;
    }
    if index + 1 == padded_blocks(len) {
        // usize -> u128 is lossless on every target Rust supports.
        let bits = (len as u128) * 8;
        block[BLOCK_BYTES - 16..].copy_from_slice(&bits.to_be_bytes());
    }
    std::array::from_fn(|t| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&block[8 * t..8 * t + 8]);
        u64::from_be_bytes(word)
    })
}

/// SHA-512 of each of `messages` (1 to 8) into `out` (one digest per message).
///
/// # Panics
/// If there are no messages, more than eight, or `out` has another length.
#[cfg(target_arch = "x86_64")]
pub fn digest8(_token: Avx512Token, messages: &[&[u8]], out: &mut [[u8; 64]]) {
    assert!((1..=8).contains(&messages.len()), "1 to 8 messages");
    assert_eq!(messages.len(), out.len(), "one digest per message");
    // SAFETY: the token exists only when runtime detection found AVX-512F.
    unsafe { digest8_impl(messages, out) }
}

#[cfg(target_arch = "x86_64")]
type V = __m512i;

/// `x` rotated right by `N` in every lane.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn ror<const N: i32>(x: V) -> V {
    _mm512_ror_epi64::<N>(x)
}

/// `a ^ b ^ c`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn xor3(a: V, b: V, c: V) -> V {
    _mm512_ternarylogic_epi64::<0x96>(a, b, c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn add(a: V, b: V) -> V {
    _mm512_add_epi64(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn splat(x: u64) -> V {
    // Bit-for-bit reinterpretation.
    #[expect(clippy::cast_possible_wrap, reason = "bit pattern, not a number")]
    _mm512_set1_epi64(x as i64)
}

/// One block for every lane in `active`; the other lanes keep their state.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn compress(state: &mut [V; 8], words: &[[u64; 8]; 16], active: u8) {
    let mut w: [V; 16] = std::array::from_fn(|t| {
        // SAFETY: a row is 8 u64 = 64 bytes, the size of the unaligned load.
        unsafe { _mm512_loadu_si512(words[t].as_ptr().cast()) }
    });
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for (t, &k) in K.iter().enumerate() {
        if t >= 16 {
            let w15 = w[(t - 15) % 16];
            let w2 = w[(t - 2) % 16];
            let s0 = xor3(ror::<1>(w15), ror::<8>(w15), _mm512_srli_epi64::<7>(w15));
            let s1 = xor3(ror::<19>(w2), ror::<61>(w2), _mm512_srli_epi64::<6>(w2));
            w[t % 16] = add(add(w[t % 16], s0), add(w[(t - 7) % 16], s1));
        }
        let big_s1 = xor3(ror::<14>(e), ror::<18>(e), ror::<41>(e));
        // Ch(e, f, g) = e ? f : g.
        let ch = _mm512_ternarylogic_epi64::<0xca>(e, f, g);
        let t1 = add(add(add(h, big_s1), add(ch, splat(k))), w[t % 16]);
        let big_s0 = xor3(ror::<28>(a), ror::<34>(a), ror::<39>(a));
        // Maj(a, b, c): the majority bit.
        let maj = _mm512_ternarylogic_epi64::<0xe8>(a, b, c);
        let t2 = add(big_s0, maj);
        h = g;
        g = f;
        f = e;
        e = add(d, t1);
        d = c;
        c = b;
        b = a;
        a = add(t1, t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = _mm512_mask_mov_epi64(*s, active, add(*s, v));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn digest8_impl(messages: &[&[u8]], out: &mut [[u8; 64]]) {
    let blocks: Vec<usize> = messages.iter().map(|m| padded_blocks(m.len())).collect();
    let most = blocks.iter().copied().max().unwrap_or(0);
    let mut state: [V; 8] = std::array::from_fn(|i| splat(H0[i]));
    for index in 0..most {
        let mut words = [[0u64; 8]; 16];
        let mut active = 0u8;
        for (lane, (message, &count)) in messages.iter().zip(&blocks).enumerate() {
            if index < count {
                active |= 1 << lane;
                for (t, word) in padded_block(message, index).into_iter().enumerate() {
                    words[t][lane] = word;
                }
            }
        }
        compress(&mut state, &words, active);
    }
    let mut lanes = [[0u64; 8]; 8];
    for (i, v) in state.iter().enumerate() {
        // SAFETY: a row is 8 u64 = 64 bytes, the size of the unaligned store.
        unsafe { _mm512_storeu_si512(lanes[i].as_mut_ptr().cast(), *v) };
    }
    for (lane, digest) in out.iter_mut().enumerate() {
        for (i, chunk) in digest.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&lanes[i][lane].to_be_bytes());
        }
    }
}
