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

    /// Lane-wise rotate left by `N` bits (`0 < N < 64`).
    #[must_use]
    fn rotl<const N: u32>(self) -> Self;

    /// `a ^ (!b & c)`, the chi step.
    fn chi(a: Self, b: Self, c: Self) -> Self;

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
    fn rotl<const N: u32>(self) -> Self {
        self.rotate_left(N)
    }

    #[inline(always)]
    fn chi(a: Self, b: Self, c: Self) -> Self {
        a ^ (!b & c)
    }
}

/// The theta, rho and pi steps: returns the 25 lanes `B` that chi combines.
#[inline(always)]
fn theta_rho_pi<L: Lane>(a: &[L; 25]) -> [L; 25] {
    let c = [
        L::xor5(a[0], a[5], a[10], a[15], a[20]),
        L::xor5(a[1], a[6], a[11], a[16], a[21]),
        L::xor5(a[2], a[7], a[12], a[17], a[22]),
        L::xor5(a[3], a[8], a[13], a[18], a[23]),
        L::xor5(a[4], a[9], a[14], a[19], a[24]),
    ];
    let d0 = c[4].xor(c[1].rotl::<1>());
    let d1 = c[0].xor(c[2].rotl::<1>());
    let d2 = c[1].xor(c[3].rotl::<1>());
    let d3 = c[2].xor(c[4].rotl::<1>());
    let d4 = c[3].xor(c[0].rotl::<1>());
    // B[y, 2x+3y] = rotl(A[x, y] ^ D[x], r[x, y]), listed by destination.
    [
        a[0].xor(d0),
        a[6].xor(d1).rotl::<44>(),
        a[12].xor(d2).rotl::<43>(),
        a[18].xor(d3).rotl::<21>(),
        a[24].xor(d4).rotl::<14>(),
        a[3].xor(d3).rotl::<28>(),
        a[9].xor(d4).rotl::<20>(),
        a[10].xor(d0).rotl::<3>(),
        a[16].xor(d1).rotl::<45>(),
        a[22].xor(d2).rotl::<61>(),
        a[1].xor(d1).rotl::<1>(),
        a[7].xor(d2).rotl::<6>(),
        a[13].xor(d3).rotl::<25>(),
        a[19].xor(d4).rotl::<8>(),
        a[20].xor(d0).rotl::<18>(),
        a[4].xor(d4).rotl::<27>(),
        a[5].xor(d0).rotl::<36>(),
        a[11].xor(d1).rotl::<10>(),
        a[17].xor(d2).rotl::<15>(),
        a[23].xor(d3).rotl::<56>(),
        a[2].xor(d2).rotl::<62>(),
        a[8].xor(d3).rotl::<55>(),
        a[14].xor(d4).rotl::<39>(),
        a[15].xor(d0).rotl::<41>(),
        a[21].xor(d1).rotl::<2>(),
    ]
}

/// One full round with round constant `rc`.
#[inline(always)]
fn round<L: Lane>(a: &mut [L; 25], rc: u64) {
    let b = theta_rho_pi(a);
    *a = [
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
    ];
}

/// Keccak-f\[1600\] on `LANES` states at once.
#[inline(always)]
pub fn f1600<L: Lane>(a: &mut [L; 25]) {
    for pair in ROUND_CONSTANTS.chunks_exact(2) {
        round(a, pair[0]);
        round(a, pair[1]);
    }
}

/// Keccak-f\[1600\] that returns only lane 7 of the result: 23 full rounds, then the last round's
/// theta for every column but rho, pi and chi only for the lanes lane 7 needs.
///
/// Lane 7 holds output bytes 56..64, the most significant word of a 64-byte hash read as a
/// little-endian integer: enough to reject almost every attempt.
#[inline(always)]
pub fn f1600_lane7<L: Lane>(a: &mut [L; 25]) -> L {
    for pair in ROUND_CONSTANTS[..22].chunks_exact(2) {
        round(a, pair[0]);
        round(a, pair[1]);
    }
    round(a, ROUND_CONSTANTS[22]);
    let c0 = L::xor5(a[0], a[5], a[10], a[15], a[20]);
    let c1 = L::xor5(a[1], a[6], a[11], a[16], a[21]);
    let c2 = L::xor5(a[2], a[7], a[12], a[17], a[22]);
    let c3 = L::xor5(a[3], a[8], a[13], a[18], a[23]);
    let c4 = L::xor5(a[4], a[9], a[14], a[19], a[24]);
    let d0 = c4.xor(c1.rotl::<1>());
    let d1 = c0.xor(c2.rotl::<1>());
    let d2 = c1.xor(c3.rotl::<1>());
    // B[7], B[8], B[9] come from A[10], A[16], A[22]; iota touches only lane 0.
    let b7 = a[10].xor(d0).rotl::<3>();
    let b8 = a[16].xor(d1).rotl::<45>();
    let b9 = a[22].xor(d2).rotl::<61>();
    L::chi(b7, b8, b9)
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
    fn lane7_shortcut_matches_the_full_permutation() {
        let mut s = [0u64; 25];
        for (i, lane) in s.iter_mut().enumerate() {
            *lane = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        let mut full = s;
        f1600(&mut full);
        assert_eq!(f1600_lane7(&mut s), full[7]);
    }
}
