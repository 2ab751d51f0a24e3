//! The signer-PoW search: `hash = sha3_512sq(prefix ‖ nonce)`, accepted iff `1 <= H <= T`.
//!
//! # How an attempt costs two permutations
//!
//! A nonce is a fixed template whose last `counter_len` (≤ 8) bytes hold a big-endian counter.
//! Let `L` be the message length, `F` the start of the last rate block (the block with the
//! padding) and `j = L - F` the message bytes in it.
//!
//! - Every block before the one holding the first counter byte is absorbed once per job
//!   ([`PreparedJob`]'s base state).
//! - The low `min(counter_len, j)` counter bytes ("fast" bytes) sit in the last block: an attempt
//!   XORs them into two precomputed lanes and runs one inner permutation.
//! - Counter bytes before `F` ("slow" bytes) change once every `256^fast` attempts; each change
//!   costs one extra permutation (a *segment* midstate). With `j == 0` (the message fills whole
//!   blocks) every attempt is its own segment: that length cannot do better.
//! - Within a run of 256 counters that differ only in their last byte, the inner permutation's
//!   first theta, rho and pi (linear) are computed once per run; each vector then adds its
//!   last-byte contribution, which reaches 11 of the 25 lanes, from a per-job table: 11 XORs
//!   instead of about 65 operations of a round.
//! - The outer hash absorbs one 64-byte block whose padding lanes are constants, and its last
//!   round computes only lane 7, the most significant word of `H`. Only when that word is at or
//!   below the target's is the whole hash computed and compared exactly.

use ixi_formats::solution::MAX_NONCE_LEN;

use crate::keccak::{Lane, f1600_digest_from_theta, sha3_512_of_digest_lane7, theta_rho_pi};
use crate::sponge::{self, RATE, RATE_LANES};

/// Most lanes any lane type carries (AVX-512: 8).
pub const MAX_LANES: usize = 8;

/// What a lane type needs beyond the permutation to run the search.
pub trait SearchLane: Lane {
    /// A value with `values[i]` in state `i` (`values.len() == LANES`).
    fn from_lanes(values: &[u64]) -> Self;

    /// Writes state `i`'s value to `out[i]` (`out.len() == LANES`).
    fn store(self, out: &mut [u64]);

    /// Lane-wise wrapping addition.
    #[must_use]
    fn add(self, other: Self) -> Self;

    /// Bit `i` set iff lane `i` is `<= bound` as an unsigned integer.
    fn le_mask(self, bound: u64) -> u64;
}

impl SearchLane for u64 {
    #[inline(always)]
    fn from_lanes(values: &[u64]) -> Self {
        values[0]
    }

    #[inline(always)]
    fn store(self, out: &mut [u64]) {
        out[0] = self;
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        self.wrapping_add(other)
    }

    #[inline(always)]
    fn le_mask(self, bound: u64) -> u64 {
        u64::from(self <= bound)
    }
}

/// The exact acceptance bound as eight little-endian 64-bit limbs (`limbs[7]` most significant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    limbs: [u64; 8],
}

impl Target {
    /// From the 64-byte little-endian bound of
    /// [`acceptance_bound`](ixi_formats::difficulty::acceptance_bound).
    #[must_use]
    pub fn from_bound(bound: &[u8; 64]) -> Self {
        Self {
            limbs: limbs_le(bound),
        }
    }

    /// The most significant limb, compared first.
    #[must_use]
    pub fn most_significant(&self) -> u64 {
        self.limbs[7]
    }

    /// The bound as 64 little-endian bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(&self.limbs) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    /// `1 <= H <= T`, most significant limb first.
    #[must_use]
    pub fn accepts(&self, hash: &[u8; 64]) -> bool {
        let h = limbs_le(hash);
        if h.iter().all(|&l| l == 0) {
            return false; // the reference divides by H
        }
        for i in (0..8).rev() {
            if h[i] != self.limbs[i] {
                return h[i] < self.limbs[i];
            }
        }
        true
    }
}

fn limbs_le(bytes: &[u8; 64]) -> [u64; 8] {
    let mut limbs = [0u64; 8];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(b);
    }
    limbs
}

/// The first-round `B` lanes that a byte at bit `shift` of state lane `lane` reaches, each with
/// the byte's contribution for every value. `theta_rho_pi` is linear, so these are XORed onto the
/// `B` of the state without the byte. A lone lane reaches eleven: itself, and through theta's `D`
/// every lane of the two neighbouring columns; a nonzero byte reaches each with a nonzero value.
fn low_byte_spread(lane: usize, shift: u32) -> Vec<(usize, [u64; 256])> {
    let by_value: Vec<[u64; 25]> = (0..256u64)
        .map(|v| {
            let mut e = [0u64; 25];
            e[lane] = v << shift;
            theta_rho_pi(&e)
        })
        .collect();
    (0..25)
        .filter(|&j| by_value[0xff][j] != 0)
        .map(|j| (j, std::array::from_fn(|v| by_value[v][j])))
        .collect()
}

/// Why a nonce layout is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A nonce outside 1..=64 bytes.
    #[error("nonce of {0} bytes: must be 1 to 64 bytes")]
    NonceLength(usize),
    /// A counter of 0 or more than 8 bytes, or longer than the nonce.
    #[error("counter of {counter} bytes in a {nonce}-byte nonce: must be 1 to 8 and fit")]
    CounterLength {
        /// Counter bytes asked for.
        counter: usize,
        /// Nonce length.
        nonce: usize,
    },
}

/// A nonce template whose last `counter_len` bytes are a big-endian counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceLayout {
    template: Vec<u8>,
    counter_len: usize,
}

impl NonceLayout {
    /// A layout over `template`; its last `counter_len` bytes are overwritten by the counter.
    ///
    /// # Errors
    /// [`LayoutError`] for a nonce outside 1..=64 bytes or a counter outside 1..=8 bytes.
    pub fn new(template: Vec<u8>, counter_len: usize) -> Result<Self, LayoutError> {
        if !(1..=MAX_NONCE_LEN).contains(&template.len()) {
            return Err(LayoutError::NonceLength(template.len()));
        }
        if !(1..=8).contains(&counter_len) || counter_len > template.len() {
            return Err(LayoutError::CounterLength {
                counter: counter_len,
                nonce: template.len(),
            });
        }
        Ok(Self {
            template,
            counter_len,
        })
    }

    /// Nonce length in bytes.
    #[must_use]
    pub fn nonce_len(&self) -> usize {
        self.template.len()
    }

    /// Counter length in bytes.
    #[must_use]
    pub fn counter_len(&self) -> usize {
        self.counter_len
    }

    /// The largest counter value (`256^counter_len - 1`).
    #[must_use]
    pub fn max_counter(&self) -> u64 {
        u64::MAX >> (8 * (8 - self.counter_len))
    }

    /// Writes the nonce for `counter` into `out` (`out.len() == nonce_len()`).
    pub fn write_nonce(&self, counter: u64, out: &mut [u8]) {
        out.copy_from_slice(&self.template);
        let n = out.len();
        out[n - self.counter_len..].copy_from_slice(&counter.to_be_bytes()[8 - self.counter_len..]);
    }

    /// The nonce for `counter`.
    #[must_use]
    pub fn nonce_for(&self, counter: u64) -> Vec<u8> {
        let mut out = vec![0u8; self.template.len()];
        self.write_nonce(counter, &mut out);
        out
    }
}

/// A hash that met the target: the counter that produced it and the exact hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// The counter; the nonce is [`NonceLayout::nonce_for`] of it.
    pub counter: u64,
    /// `sha3_512sq(prefix ‖ nonce)`.
    pub hash: [u8; 64],
}

/// A job as a device kernel sees it for one segment (see [`PreparedJob::device_view`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceView {
    /// The state after every block before the last.
    pub state: [u64; 25],
    /// The last block's rate lanes, padding included, counter bytes zeroed.
    pub block: [u64; RATE_LANES],
    /// `8 * (8 - counter bytes in the last block)`.
    pub unused_bits: u32,
    /// Bit offset of the first last-block counter byte within its lane.
    pub fast_shift: u32,
    /// The rate lane holding that byte.
    pub fast_lane: u32,
}

/// Everything about a job that does not depend on the counter, computed once.
#[derive(Debug, Clone)]
pub struct PreparedJob {
    /// prefix ‖ nonce template, for confirming candidates on the plain path.
    message: Vec<u8>,
    counter_len: usize,
    /// Counter bytes that lie in the last block.
    fast_len: usize,
    /// State after every block before the first counter byte's block.
    base_state: [u64; 25],
    /// The block holding slow counter bytes (zeroed there), if any.
    slow_block: Option<[u8; RATE]>,
    /// Offset of the message's last byte within `slow_block`'s block numbering.
    slow_block_start: usize,
    /// The last block with padding and its fast counter bytes zeroed.
    final_lanes: [u64; RATE_LANES],
    /// The rate lane holding the first fast counter byte, and the bit offset within it.
    fast_lane: usize,
    fast_shift: u32,
    /// The first round's `B` lanes (see [`theta_rho_pi`]) that the counter's least significant
    /// byte reaches, each with that byte's contribution for all 256 values. Empty when the byte
    /// is not in the last block.
    low_spread: Vec<(usize, [u64; 256])>,
}

impl PreparedJob {
    /// Prepares the search of `prefix ‖ nonce` over `layout`'s counter.
    #[must_use]
    pub fn new(prefix: &[u8], layout: &NonceLayout) -> Self {
        let mut message = Vec::with_capacity(prefix.len() + layout.nonce_len());
        message.extend_from_slice(prefix);
        message.extend_from_slice(&layout.template);
        let len = message.len();
        let w = layout.counter_len;
        // Zero the counter bytes: the search XORs the counter into zeroed positions.
        message[len - w..].fill(0);

        let final_start = len - len % RATE;
        let in_final = len - final_start;
        let fast_len = w.min(in_final);
        let slow_block_start = if w > fast_len {
            // The first counter byte lies in the block just before the last one.
            final_start - RATE
        } else {
            final_start
        };
        let mut base_state = [0u64; 25];
        sponge::absorb_full_blocks(&mut base_state, &message[..slow_block_start]);
        let slow_block = (slow_block_start < final_start).then(|| {
            let mut b = [0u8; RATE];
            b.copy_from_slice(&message[slow_block_start..final_start]);
            b
        });

        let block = sponge::final_block(&message[final_start..]);
        let mut final_lanes = [0u64; RATE_LANES];
        for (lane, chunk) in final_lanes.iter_mut().zip(block.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *lane = u64::from_le_bytes(b);
        }
        let fast_start = in_final - fast_len;
        #[expect(clippy::cast_possible_truncation, reason = "a bit offset below 64")]
        let fast_shift = 8 * (fast_start % 8) as u32;
        // The counter's last byte is the message's last byte (when it is in the last block).
        let low = in_final.saturating_sub(1);
        #[expect(clippy::cast_possible_truncation, reason = "a bit offset below 64")]
        let low_shift = 8 * (low % 8) as u32;
        let low_spread = if fast_len > 0 {
            low_byte_spread(low / 8, low_shift)
        } else {
            Vec::new()
        };
        Self {
            message,
            counter_len: w,
            fast_len,
            base_state,
            slow_block,
            slow_block_start,
            final_lanes,
            fast_lane: (fast_start / 8).min(RATE_LANES - 1),
            fast_shift,
            low_spread,
        }
    }

    /// The largest counter of the layout.
    #[must_use]
    pub fn max_counter(&self) -> u64 {
        if self.counter_len >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * self.counter_len)) - 1
        }
    }

    /// Attempts that share one segment midstate (`256^fast`, or 1 when no counter byte is in
    /// the last block). Schedulers should hand out ranges that are multiples of it.
    #[must_use]
    pub fn segment_len(&self) -> u64 {
        if self.fast_len >= 8 {
            u64::MAX
        } else {
            1u64 << (8 * self.fast_len)
        }
    }

    /// Permutations an attempt costs on average, rounded down: 2 when the counter's varying
    /// bytes sit in the last block, 3 when the message fills whole blocks.
    #[must_use]
    pub fn permutations_per_attempt(&self) -> u32 {
        if self.fast_len == 0 { 3 } else { 2 }
    }

    /// The state after absorbing everything before the last block, for `counter`'s segment.
    fn segment_state(&self, counter: u64) -> [u64; 25] {
        let mut state = self.base_state;
        if let Some(mut block) = self.slow_block {
            let last = self.message.len() - 1 - self.slow_block_start;
            for i in self.fast_len..self.counter_len {
                // Counter byte i (little-endian significance) is message byte len-1-i.
                // Truncation to the addressed byte is the point.
                #[expect(clippy::cast_possible_truncation, reason = "extracts one byte")]
                let byte = (counter >> (8 * i)) as u8;
                block[last - i] = byte;
            }
            sponge::absorb_block(&mut state, &block);
        }
        state
    }

    /// The two rate lanes the fast counter bytes of `counter` XOR into.
    #[inline(always)]
    fn fast_lanes(&self, counter: u64) -> (u64, u64) {
        if self.fast_len == 0 {
            return (0, 0);
        }
        let unused = 8 * (8 - self.fast_len);
        // The low `fast_len` counter bytes in message order, as a little-endian integer.
        let ordered = (counter << unused).swap_bytes();
        let wide = u128::from(ordered) << self.fast_shift;
        #[expect(
            clippy::cast_possible_truncation,
            reason = "splits 128 bits into two lanes"
        )]
        (wide as u64, (wide >> 64) as u64)
    }

    /// What a device kernel needs for the segment of `counter`: the midstate, the last block
    /// (counter bytes zeroed) and where the counter's last-block bytes go. `None` when no
    /// counter byte lies in the last block (the 3-permutation layout).
    #[must_use]
    pub fn device_view(&self, counter: u64) -> Option<DeviceView> {
        if self.fast_len == 0 {
            return None;
        }
        #[expect(clippy::cast_possible_truncation, reason = "at most 8 bytes, 7 lanes")]
        Some(DeviceView {
            state: self.segment_state(counter),
            block: self.final_lanes,
            unused_bits: 8 * (8 - self.fast_len) as u32,
            fast_shift: self.fast_shift,
            fast_lane: self.fast_lane as u32,
        })
    }

    /// The exact hash of `counter`'s nonce on the plain path: the `sha3` crate's SHA3-512
    /// twice over the whole message, sharing nothing with this crate's Keccak, so a candidate
    /// it confirms is confirmed independently.
    #[must_use]
    pub fn hash_of(&self, counter: u64) -> [u8; 64] {
        let mut message = self.message.clone();
        let len = message.len();
        message[len - self.counter_len..]
            .copy_from_slice(&counter.to_be_bytes()[8 - self.counter_len..]);
        ixi_formats::hash::sha3_512sq(&message)
    }
}

/// Searches counters `start .. start + count` (clamped to the counter space) with lane type
/// `L`; pushes every hash that meets `target` and returns the number of attempts made.
#[inline(always)]
pub fn search<L: SearchLane>(
    job: &PreparedJob,
    target: &Target,
    start: u64,
    count: u64,
    hits: &mut Vec<Hit>,
) -> u64 {
    debug_assert!(L::LANES <= MAX_LANES);
    let space_end = u128::from(u64::MAX >> (8 * (8 - job.counter_len))) + 1;
    let end = (u128::from(start) + u128::from(count)).min(space_end);
    let Some(total) = end.checked_sub(u128::from(start)) else {
        return 0;
    };
    let segment_len = u128::from(job.segment_len());
    let bound = target.most_significant();
    let mut c = u128::from(start);
    while c < end {
        let segment_end = ((c / segment_len) + 1).saturating_mul(segment_len).min(end);
        #[expect(clippy::cast_possible_truncation, reason = "c < end <= 2^64")]
        let mut base = job.segment_state(c as u64);
        for (lane, &value) in base.iter_mut().zip(&job.final_lanes) {
            *lane ^= value;
        }
        let next = (job.fast_lane + 1).min(RATE_LANES - 1);
        // A run is 256 counters equal but for their last byte. `run_b` is the first round's B
        // of the run's state with that byte zero, computed once per run; `b` holds it too,
        // except at the lanes the last byte reaches, which each vector overwrites.
        let mut run: Option<u64> = None;
        let mut run_b = [L::splat(0); 25];
        let mut b = run_b;
        while c < segment_end {
            // Lanes past the segment's end repeat its last counter and are masked out.
            let n = (segment_end - c).min(L::LANES as u128);
            #[expect(clippy::cast_possible_truncation, reason = "c < end <= 2^64, n <= 8")]
            let (first, n) = (c as u64, n as usize);
            let low = first & 0xff;
            if job.fast_len > 0 && low + (L::LANES as u64 - 1) <= 0xff {
                // The vector lies in one run. B is linear in the state: the run's B plus each
                // lane's last-byte contribution, 11 XORs instead of a round's theta and rho.
                if run != Some(first >> 8) {
                    let mut state = base;
                    let (lo, hi) = job.fast_lanes(first & !0xff);
                    state[job.fast_lane] ^= lo;
                    state[next] ^= hi;
                    run_b = theta_rho_pi(&state).map(L::splat);
                    b = run_b;
                    run = Some(first >> 8);
                }
                // A byte value: the cast is exact.
                let low = low as usize;
                for (j, by_value) in &job.low_spread {
                    b[*j] = run_b[*j].xor(L::from_lanes(&by_value[low..low + L::LANES]));
                }
            } else {
                // Lanes in different runs (or no counter byte in the last block): each lane's
                // counter bytes placed one by one.
                let mut lo = [0u64; MAX_LANES];
                let mut hi = [0u64; MAX_LANES];
                for i in 0..L::LANES {
                    (lo[i], hi[i]) = job.fast_lanes(first + i.min(n - 1) as u64);
                }
                let mut state = base.map(L::splat);
                state[job.fast_lane] = state[job.fast_lane].xor(L::from_lanes(&lo[..L::LANES]));
                state[next] = state[next].xor(L::from_lanes(&hi[..L::LANES]));
                b = theta_rho_pi(&state);
                run = None;
            }
            let digest = f1600_digest_from_theta(&b);
            let msw = sha3_512_of_digest_lane7(&digest);

            let mut candidates = msw.le_mask(bound) & (u64::MAX >> (64 - n));
            while candidates != 0 {
                let i = u64::from(candidates.trailing_zeros());
                candidates &= candidates - 1;
                let counter = first + i;
                let hash = job.hash_of(counter);
                if target.accepts(&hash) {
                    hits.push(Hit { counter, hash });
                }
            }
            c += n as u128;
        }
    }
    #[expect(clippy::cast_possible_truncation, reason = "total <= count, a u64")]
    let done = total as u64;
    done
}
