//! Keccak-f\[1600\], written once and generic over the lane type.
//!
//! The round body is fully unrolled with the rho and pi offsets as constants (no table lookups);
//! the 24 rounds loop over the round constants. A [`Lane`] is one 64-bit lane of `LANES`
//! independent states side by side.

/// Round constants of Keccak-f\[1600\] (iota).
pub const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808A,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808B,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008A,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000A,
    0x0000_0000_8000_808B,
    0x8000_0000_0000_008B,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800A,
    0x8000_0000_8000_000A,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// One 64-bit Keccak lane of [`Lane::LANES`] independent states.
///
/// Implementations must be lane-wise: lane `i` of every result depends only on lane `i` of the
/// inputs.
pub trait Lane: Copy {
    /// How many independent states one value carries.
    const LANES: usize;

    /// The same 64-bit value in every state.
    fn splat(value: u64) -> Self;

    /// Lane-wise XOR.
    #[must_use]
    fn xor(self, other: Self) -> Self;

    /// Lane-wise rotate left by `N` bits (`0 < N < 64`; `i32` because the x86 rotate
    /// intrinsics take their immediate as `i32`).
    #[must_use]
    fn rotl<const N: i32>(self) -> Self;

    /// Whether the round loop runs two rounds per iteration instead of one. One keeps the loop
    /// body small (about 90 operations with AVX-512); two spill less at the loop edge where
    /// registers are few (16 with AVX2). Measured per lane type; fully unrolled rounds
    /// overflow the micro-op cache and run much slower.
    const TWO_ROUNDS_PER_ITERATION: bool = false;

    /// `a ^ (!b & c)`, the chi step.
    fn chi(a: Self, b: Self, c: Self) -> Self;

    /// Theta applied to one lane of column `x`: `a ^ D[x]`, where `D[x] = c_left ^ r_right`
    /// (`C[x-1]` and `rotl(C[x+1], 1)`) is also passed precomputed as `d`.
    ///
    /// Without a three-input XOR, `a ^ d` costs one operation after `d`'s one per column. With
    /// one (AVX-512 ternary logic), `a ^ c_left ^ r_right` is one operation too and `d` goes
    /// unused (the compiler drops it): 5 fewer operations per round.
    #[inline(always)]
    fn theta(a: Self, c_left: Self, r_right: Self, d: Self) -> Self {
        let _ = (c_left, r_right);
        a.xor(d)
    }

    /// `a ^ b ^ c ^ d ^ e`, the theta column parity.
    #[inline(always)]
    fn xor5(a: Self, b: Self, c: Self, d: Self, e: Self) -> Self {
        a.xor(b).xor(c).xor(d).xor(e)
    }
}

impl Lane for u64 {
    const LANES: usize = 1;

    #[inline(always)]
    fn splat(value: u64) -> Self {
        value
    }

    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        self ^ other
    }

    #[inline(always)]
    fn rotl<const N: i32>(self) -> Self {
        // 0 < N < 64 by contract: the cast is exact.
        #[expect(clippy::cast_sign_loss, reason = "0 < N < 64")]
        let n = N as u32;
        self.rotate_left(n)
    }

    #[inline(always)]
    fn chi(a: Self, b: Self, c: Self) -> Self {
        a ^ (!b & c)
    }
}

/// Theta's column parities `C[x] = A[x,0] ^ … ^ A[x,4]`.
#[inline(always)]
fn column_parities<L: Lane>(a: &[L; 25]) -> [L; 5] {
    [
        L::xor5(a[0], a[5], a[10], a[15], a[20]),
        L::xor5(a[1], a[6], a[11], a[16], a[21]),
        L::xor5(a[2], a[7], a[12], a[17], a[22]),
        L::xor5(a[3], a[8], a[13], a[18], a[23]),
        L::xor5(a[4], a[9], a[14], a[19], a[24]),
    ]
}

/// Theta, rho and pi one output plane at a time, in a function generic over `$lane`: the five
/// planes `[per_plane(0, B[0..5]), …, per_plane(4, B[20..25])]`, each plane's index bound to
/// `$y` and its lanes to `$plane` as soon as they exist, so that few values are live at once
/// (that keeps 16-register AVX2 from spilling more than it must when `per_plane` is chi). A
/// macro rather than a function taking a closure: a closure called five times is not inlined.
macro_rules! theta_rho_pi_planes {
    ($lane:ty, $a:expr, |$y:ident, $plane:ident| $per_plane:expr) => {{
        let a: &[$lane; 25] = $a;
        let [c0, c1, c2, c3, c4] = column_parities(a);
        let (r0, r1, r2, r3, r4) = (
            c0.rotl::<1>(),
            c1.rotl::<1>(),
            c2.rotl::<1>(),
            c3.rotl::<1>(),
            c4.rotl::<1>(),
        );
        // theta: A[x, y] ^ D[x] with D[x] = C[x-1] ^ rotl(C[x+1], 1).
        let (d0, d1, d2, d3, d4) = (c4.xor(r1), c0.xor(r2), c1.xor(r3), c2.xor(r4), c3.xor(r0));
        let t0 = |a: $lane| <$lane>::theta(a, c4, r1, d0);
        let t1 = |a: $lane| <$lane>::theta(a, c0, r2, d1);
        let t2 = |a: $lane| <$lane>::theta(a, c1, r3, d2);
        let t3 = |a: $lane| <$lane>::theta(a, c2, r4, d3);
        let t4 = |a: $lane| <$lane>::theta(a, c3, r0, d4);
        // B[y, 2x+3y] = rotl(A[x, y] ^ D[x], r[x, y]), by destination plane: each `tx i r` is
        // lane `i = x + 5y` of A through theta (`tx` for its column x), rotated left by `r`.
        [
            b_plane!($y $plane $per_plane, a, 0: t0 0 0, t1 6 44, t2 12 43, t3 18 21, t4 24 14),
            b_plane!($y $plane $per_plane, a, 1: t3 3 28, t4 9 20, t0 10 3, t1 16 45, t2 22 61),
            b_plane!($y $plane $per_plane, a, 2: t1 1 1, t2 7 6, t3 13 25, t4 19 8, t0 20 18),
            b_plane!($y $plane $per_plane, a, 3: t4 4 27, t0 5 36, t1 11 10, t2 17 15, t3 23 56),
            b_plane!($y $plane $per_plane, a, 4: t2 2 62, t3 8 55, t4 14 39, t0 15 41, t1 21 2),
        ]
    }};
}

/// One plane of `theta_rho_pi_planes!`: `$per_plane` with `$y` bound to the plane's index and
/// `$plane` to its five lanes, each `tx i r` = `rotl(tx(a[i]), r)`.
macro_rules! b_plane {
    ($y:ident $plane:ident $per_plane:expr, $a:ident, $index:tt: $($t:ident $i:tt $r:tt),+) => {{
        let ($y, $plane) = ($index, [$(b_plane!(@lane $a, $t $i $r)),+]);
        $per_plane
    }};
    // Lane 0 is not rotated.
    (@lane $a:ident, $t:ident $i:tt 0) => {
        $t($a[$i])
    };
    (@lane $a:ident, $t:ident $i:tt $r:tt) => {
        $t($a[$i]).rotl::<$r>()
    };
}

/// The theta, rho and pi steps: returns the 25 lanes `B` that chi combines.
///
/// These steps are linear over XOR: `theta_rho_pi(a ^ e) == theta_rho_pi(a) ^ theta_rho_pi(e)`,
/// which lets the search compute the first round's `B` of a state that differs from a
/// precomputed one in a single byte (see [`crate::pow`]).
#[inline(always)]
pub fn theta_rho_pi<L: Lane>(a: &[L; 25]) -> [L; 25] {
    flatten(theta_rho_pi_planes!(L, a, |_y, plane| plane))
}

/// Five planes of five lanes as one state, plane `y` at lanes `5y .. 5y + 5`.
#[inline(always)]
fn flatten<L: Copy>(planes: [[L; 5]; 5]) -> [L; 25] {
    std::array::from_fn(|i| planes[i / 5][i % 5])
}

/// Chi and iota of plane `y` of `B`: its five new lanes, round constant `rc` on lane 0 of
/// plane 0.
#[inline(always)]
fn chi_iota_plane<L: Lane>(y: usize, [b0, b1, b2, b3, b4]: [L; 5], rc: u64) -> [L; 5] {
    let mut e0 = L::chi(b0, b1, b2);
    if y == 0 {
        e0 = e0.xor(L::splat(rc));
    }
    [
        e0,
        L::chi(b1, b2, b3),
        L::chi(b2, b3, b4),
        L::chi(b3, b4, b0),
        L::chi(b4, b0, b1),
    ]
}

/// Chi and iota: the new state from the 25 lanes `B`.
///
/// Written out lane by lane rather than through [`chi_iota_plane`]: built from planes, LLVM
/// schedules the search's first round differently (its assembly changes; `round`'s does not).
#[inline(always)]
fn chi_iota<L: Lane>(b: &[L; 25], rc: u64) -> [L; 25] {
    [
        L::chi(b[0], b[1], b[2]).xor(L::splat(rc)),
        L::chi(b[1], b[2], b[3]),
        L::chi(b[2], b[3], b[4]),
        L::chi(b[3], b[4], b[0]),
        L::chi(b[4], b[0], b[1]),
        L::chi(b[5], b[6], b[7]),
        L::chi(b[6], b[7], b[8]),
        L::chi(b[7], b[8], b[9]),
        L::chi(b[8], b[9], b[5]),
        L::chi(b[9], b[5], b[6]),
        L::chi(b[10], b[11], b[12]),
        L::chi(b[11], b[12], b[13]),
        L::chi(b[12], b[13], b[14]),
        L::chi(b[13], b[14], b[10]),
        L::chi(b[14], b[10], b[11]),
        L::chi(b[15], b[16], b[17]),
        L::chi(b[16], b[17], b[18]),
        L::chi(b[17], b[18], b[19]),
        L::chi(b[18], b[19], b[15]),
        L::chi(b[19], b[15], b[16]),
        L::chi(b[20], b[21], b[22]),
        L::chi(b[21], b[22], b[23]),
        L::chi(b[22], b[23], b[24]),
        L::chi(b[23], b[24], b[20]),
        L::chi(b[24], b[20], b[21]),
    ]
}

/// One full round with round constant `rc`.
///
/// Same result as `chi_iota(&theta_rho_pi(a), rc)`, but computed one output plane at a time
/// (five `B` lanes, then their five chi outputs) so that few values are live at once.
#[inline(always)]
fn round<L: Lane>(a: &mut [L; 25], rc: u64) {
    *a = flatten(theta_rho_pi_planes!(L, a, |y, plane| chi_iota_plane(
        y, plane, rc
    )));
}

/// The last round (constant 23) computing only lane 7: theta's parities for every column, but
/// rho, pi and chi only for the three lanes lane 7 combines. Iota touches only lane 0.
#[inline(always)]
fn last_round_lane7<L: Lane>(a: &[L; 25]) -> L {
    let [c0, c1, c2, c3, c4] = column_parities(a);
    let (r1, r2, r3) = (c1.rotl::<1>(), c2.rotl::<1>(), c3.rotl::<1>());
    // B[7], B[8], B[9] come from A[10], A[16], A[22].
    let b7 = L::theta(a[10], c4, r1, c4.xor(r1)).rotl::<3>();
    let b8 = L::theta(a[16], c0, r2, c0.xor(r2)).rotl::<45>();
    let b9 = L::theta(a[22], c1, r3, c1.xor(r3)).rotl::<61>();
    L::chi(b7, b8, b9)
}

/// The rounds with constants `rcs`, one or two per loop iteration as
/// [`Lane::TWO_ROUNDS_PER_ITERATION`] says.
#[inline(always)]
fn rounds<L: Lane>(a: &mut [L; 25], rcs: &[u64]) {
    if L::TWO_ROUNDS_PER_ITERATION {
        let (pairs, odd) = rcs.as_chunks::<2>();
        for &[first, second] in pairs {
            round(a, first);
            round(a, second);
        }
        for &rc in odd {
            round(a, rc);
        }
    } else {
        for &rc in rcs {
            round(a, rc);
        }
    }
}

/// Keccak-f\[1600\] on `LANES` states at once.
#[inline(always)]
pub fn f1600<L: Lane>(a: &mut [L; 25]) {
    rounds(a, &ROUND_CONSTANTS);
}

/// Keccak-f\[1600\] from the first round's `B` lanes (`b == theta_rho_pi(state)`), for a
/// caller that reads only lanes 0..8 of the result (a 64-byte digest): those lanes are
/// returned, and the last round computes chi only for them.
#[inline(always)]
pub fn f1600_digest_from_theta<L: Lane>(b: &[L; 25]) -> [L; 8] {
    let mut a = chi_iota(b, ROUND_CONSTANTS[0]);
    rounds(&mut a, &ROUND_CONSTANTS[1..23]);
    // The other 17 lanes of the last round are never read: the compiler drops them.
    let a = chi_iota(&theta_rho_pi(&a), ROUND_CONSTANTS[23]);
    std::array::from_fn(|i| a[i])
}

/// SHA3-512 of a 64-byte message `d` (the outer hash of `sha3_512sq`), reduced to lane 7 of
/// the result: the most significant word of the hash read as a little-endian integer.
///
/// The only block is `d ‖ 0x06 ‖ 0… ‖ 0x80`: lane 8 is a constant and lanes 9..25 are zero, so
/// the first round's theta and rho skip them; the last round computes only lane 7.
#[inline(always)]
pub fn sha3_512_of_digest_lane7<L: Lane>(d: &[L; 8]) -> L {
    // Lane 8 of the padded block: 0x06 after the digest, 0x80 in the block's last byte.
    let pad = L::splat(0x8000_0000_0000_0006);
    let c0 = d[0].xor(d[5]);
    let c1 = d[1].xor(d[6]);
    let c2 = d[2].xor(d[7]);
    let c3 = d[3].xor(pad);
    let c4 = d[4];
    let d0 = c4.xor(c1.rotl::<1>());
    let d1 = c0.xor(c2.rotl::<1>());
    let d2 = c1.xor(c3.rotl::<1>());
    let d3 = c2.xor(c4.rotl::<1>());
    let d4 = c3.xor(c0.rotl::<1>());
    // As `theta_rho_pi`, with A[9..25] = 0 and A[8] = pad.
    let b = [
        d[0].xor(d0),
        d[6].xor(d1).rotl::<44>(),
        d2.rotl::<43>(),
        d3.rotl::<21>(),
        d4.rotl::<14>(),
        d[3].xor(d3).rotl::<28>(),
        d4.rotl::<20>(),
        d0.rotl::<3>(),
        d1.rotl::<45>(),
        d2.rotl::<61>(),
        d[1].xor(d1).rotl::<1>(),
        d[7].xor(d2).rotl::<6>(),
        d3.rotl::<25>(),
        d4.rotl::<8>(),
        d0.rotl::<18>(),
        d[4].xor(d4).rotl::<27>(),
        d[5].xor(d0).rotl::<36>(),
        d1.rotl::<10>(),
        d2.rotl::<15>(),
        d3.rotl::<56>(),
        d[2].xor(d2).rotl::<62>(),
        pad.xor(d3).rotl::<55>(),
        d4.rotl::<39>(),
        d0.rotl::<41>(),
        d1.rotl::<2>(),
    ];
    let mut a = chi_iota(&b, ROUND_CONSTANTS[0]);
    rounds(&mut a, &ROUND_CONSTANTS[1..23]);
    last_round_lane7(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keccak-f\[1600\] of the zero state, first lanes (XKCP KeccakF-1600 intermediate values).
    #[test]
    fn zero_state_known_answer() {
        let mut s = [0u64; 25];
        f1600(&mut s);
        assert_eq!(s[0], 0xF125_8F79_40E1_DDE7);
        assert_eq!(s[1], 0x84D5_CCF9_33C0_478A);
        assert_eq!(s[24], 0xEAF1_FF7B_5CEC_A249);
    }

    #[test]
    fn digest_shortcut_matches_the_full_permutation() {
        let s: [u64; 25] = std::array::from_fn(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut full = s;
        f1600(&mut full);
        assert_eq!(f1600_digest_from_theta(&theta_rho_pi(&s)), full[..8]);
    }

    #[test]
    fn theta_rho_pi_is_linear() {
        let a: [u64; 25] =
            std::array::from_fn(|i| (i as u64 + 5).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let e: [u64; 25] =
            std::array::from_fn(|i| (i as u64 + 9).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let sum: [u64; 25] = std::array::from_fn(|i| a[i] ^ e[i]);
        let (ba, be) = (theta_rho_pi(&a), theta_rho_pi(&e));
        let want: [u64; 25] = std::array::from_fn(|i| ba[i] ^ be[i]);
        assert_eq!(theta_rho_pi(&sum), want);
    }

    #[test]
    fn plane_ordered_round_matches_the_step_by_step_round() {
        let mut a: [u64; 25] =
            std::array::from_fn(|i| (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for rc in ROUND_CONSTANTS {
            let want = chi_iota(&theta_rho_pi(&a), rc);
            round(&mut a, rc);
            assert_eq!(a, want);
        }
    }

    #[test]
    fn outer_hash_shortcut_matches_sha3_of_the_digest() {
        let digest: [u64; 8] =
            std::array::from_fn(|i| (i as u64 + 3).wrapping_mul(0xD1B5_4A32_D192_ED03));
        let mut bytes = [0u8; 64];
        for (chunk, lane) in bytes.chunks_exact_mut(8).zip(&digest) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        let full = ixi_formats::hash::sha3_512(&bytes);
        let mut top = [0u8; 8];
        top.copy_from_slice(&full[56..]);
        assert_eq!(sha3_512_of_digest_lane7(&digest), u64::from_le_bytes(top));
    }
}
