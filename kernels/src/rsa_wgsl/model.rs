//! A CPU model of exactly what the shader computes: the same limbs, the same `T` invocations
//! with their slices, the same steps in the same order, the same carry rounds and the same final
//! reduction and word stream. Every accumulator operation is checked against the variant's
//! accumulator width, so a run that returns `Ok` shows that no accumulator of the shader
//! overflowed on that input (the shader's arithmetic wraps silently).
//!
//! It is slow (one number at a time, bounds-checked) and exists to test the kernel's
//! arithmetic against `num-bigint` without a GPU; it is not a backend.

use super::{DIGEST_WORDS, GpuKey, MIN_ENCODED_LEN, Variant, Verdict, digest_info_words};

/// A bound the shader relies on did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An accumulator exceeded the variant's width.
    #[error("{0} overflowed the accumulator")]
    Overflow(&'static str),
    /// A product's result had a limb above `2^w` or a carry out of the top limb.
    #[error("result not in the expected form ({0})")]
    Form(&'static str),
    /// The key's limb count is not `threads · D`, or the exponent is zero.
    #[error("inconsistent input ({0})")]
    Input(&'static str),
}

/// One item's state: every invocation's slices of `b`, `n`, and the workgroup regions.
struct Item<'a> {
    variant: Variant,
    key: &'a GpuKey,
    threads: usize,
    slice: usize,
    /// `b`, slice `j` at `j·D`.
    b: Vec<u32>,
    /// `n` in limbs.
    n: Vec<u32>,
    /// Region A and region M of the item (`L` limbs each).
    region_a: Vec<u32>,
    region_m: Vec<u32>,
}

/// Which operand region a product reads its multiplier from.
#[derive(Clone, Copy)]
enum Region {
    A,
    M,
}

/// Limb `m` of little-endian `words` (zero past the end), as the shader's `funnel` cuts it.
fn limb_of(words: &[u32], m: usize, variant: Variant) -> u32 {
    let w = variant.limb_bits() as usize;
    let bit = m * w;
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    let (i, shift) = (bit / 32, bit % 32);
    let upper = if shift + w > 32 {
        word(i + 1) << (32 - shift)
    } else {
        0
    };
    ((word(i) >> shift) | upper) & variant.limb_mask()
}

impl Item<'_> {
    fn limbs(&self) -> usize {
        self.threads * self.slice
    }

    fn check(&self, value: u128, what: &'static str) -> Result<u128, ModelError> {
        if value > self.variant.accumulator_max() {
            Err(ModelError::Overflow(what))
        } else {
            Ok(value)
        }
    }

    fn region(&self, region: Region) -> &[u32] {
        match region {
            Region::A => &self.region_a,
            Region::M => &self.region_m,
        }
    }

    /// `b <- a·b·R⁻¹` as the shader's `amm`: logical limbs instead of the register ring (the
    /// same values), every addition checked.
    fn amm(&mut self, region: Region) -> Result<(), ModelError> {
        let (threads, d, l) = (self.threads, self.slice, self.limbs());
        let w = self.variant.limb_bits();
        let mask = u128::from(self.variant.limb_mask());
        let inv = self.key.n0inv;
        let a = self.region(region).to_vec();
        let mut t = vec![0u128; l];
        let factor =
            |x: u32| (x & self.variant.limb_mask()).wrapping_mul(inv) & self.variant.limb_mask();
        let mut q = factor(a[0].wrapping_mul(self.b[0]));
        let mut pending = vec![0u128; threads];
        for block in 0..threads {
            let more = block + 1 < threads;
            for r in 0..d {
                let i = block * d + r;
                let ai = u128::from(a[i]);
                for (k, tk) in t.iter_mut().enumerate() {
                    let sum =
                        *tk + ai * u128::from(self.b[k]) + u128::from(q) * u128::from(self.n[k]);
                    *tk = self.check(sum, "a step's products")?;
                }
                // Each invocation's lowest limb goes down; the item's lowest is divisible by
                // 2^w and carries into the next one.
                let low: Vec<u128> = (0..threads).map(|j| t[j * d]).collect();
                let carry = low[0] >> w;
                if r + 1 < d || more {
                    // The shader wraps here: only the low w bits matter.
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "the low word, as the shader's u32()"
                    )]
                    let next =
                        ((t[1] + carry) as u32).wrapping_add(a[i + 1].wrapping_mul(self.b[0]));
                    q = factor(next);
                }
                for j in 0..threads {
                    let slice = &mut t[j * d..(j + 1) * d];
                    slice.rotate_left(1);
                    let from_above = if j + 1 < threads { low[j + 1] } else { 0 };
                    let owed = if r == 0 { pending[j] } else { 0 };
                    slice[d - 1] = self.check(from_above + owed, "the limb from above")?;
                }
                t[0] = self.check(t[0] + carry, "the lowest limb's carry")?;
            }
            if more {
                for j in 0..threads {
                    let slice = &mut t[j * d..(j + 1) * d];
                    let excess: Vec<u128> = slice.iter().map(|x| x >> w).collect();
                    slice[0] &= mask;
                    for k in 1..d {
                        slice[k] = (slice[k] & mask) + excess[k - 1];
                    }
                    pending[j] = excess[d - 1];
                }
            }
        }
        // Two carry rounds, each slice on its own, one exchange each.
        let mut carries = vec![0u128; threads];
        for round in 0..2 {
            let incoming: Vec<u128> = (0..threads)
                .map(|j| if j > 0 { carries[j - 1] } else { 0 })
                .collect();
            for j in 0..threads {
                let mut c = if round == 0 { 0 } else { incoming[j] };
                for tk in &mut t[j * d..(j + 1) * d] {
                    let v = self.check(*tk + c, "a carry round")?;
                    *tk = v & mask;
                    c = v >> w;
                }
                carries[j] = c;
            }
            // The shader drops the top slice's carry: the value is below 2^(wL), so it is 0.
            if carries[threads - 1] != 0 {
                return Err(ModelError::Form("carry out of the top limb"));
            }
        }
        for j in 1..threads {
            t[j * d] = self.check(t[j * d] + carries[j - 1], "the last carry")?;
        }
        for (bk, tk) in self.b.iter_mut().zip(&t) {
            if *tk > mask + 1 {
                return Err(ModelError::Form("limb above 2^w"));
            }
            // At most 2^w: fits.
            #[expect(clippy::cast_possible_truncation, reason = "checked just above")]
            let v = *tk as u32;
            *bk = v;
        }
        Ok(())
    }

    fn store_b(&mut self, region: Region) {
        let b = self.b.clone();
        match region {
            Region::A => self.region_a = b,
            Region::M => self.region_m = b,
        }
    }
}

/// What the shader's `finish` sees and does: reduce, then stream the words.
enum Output<'a> {
    Words(&'a mut Vec<u32>),
    Compare {
        digest: &'a [u32; DIGEST_WORDS],
        same: bool,
    },
}

/// Word `at` of the encoding, as the shader's `encoded_word`.
fn encoded_word(digest: &[u32; DIGEST_WORDS], bytes: u32, at: u32) -> u32 {
    if let Some(&word) = digest.get(at as usize) {
        return word;
    }
    if let Some(&word) = digest_info_words().get(at as usize - DIGEST_WORDS) {
        return word;
    }
    (0..4u32).fold(0, |word, i| {
        let byte = 4 * at + i;
        let value = if byte + 2 < bytes {
            0xff
        } else if byte + 2 == bytes {
            1
        } else {
            0
        };
        word | (value << (8 * i))
    })
}

/// Runs the shader's `run` for one item: `s^exponent mod n` into `output`.
fn run(
    variant: Variant,
    key: &GpuKey,
    signature: &[u32],
    exponent: u64,
    output: &mut Output<'_>,
) -> Result<(), ModelError> {
    let threads = key.threads as usize;
    let slice = variant.slice_limbs();
    if key.limbs as usize != threads * slice || threads == 0 {
        return Err(ModelError::Input("key limbs"));
    }
    if exponent == 0 {
        return Err(ModelError::Input("zero exponent"));
    }
    let l = threads * slice;
    let signature_limbs: Vec<u32> = (0..l).map(|m| limb_of(signature, m, variant)).collect();
    let mut item = Item {
        variant,
        key,
        threads,
        slice,
        b: (0..l).map(|m| limb_of(&key.rr, m, variant)).collect(),
        n: (0..l).map(|m| limb_of(&key.n, m, variant)).collect(),
        region_a: signature_limbs.clone(),
        region_m: vec![0; l],
    };
    item.amm(Region::A)?;
    let top = 63 - exponent.leading_zeros();
    if exponent & !((1u64 << top) | 1) != 0 {
        item.store_b(Region::M);
    }
    for k in (0..top).rev() {
        item.store_b(Region::A);
        item.amm(Region::A)?;
        if (exponent >> k) & 1 == 1 {
            if k == 0 {
                item.region_a.clone_from(&signature_limbs);
                item.amm(Region::A)?;
            } else {
                item.amm(Region::M)?;
            }
        }
    }
    if exponent & 1 == 0 || exponent == 1 {
        item.store_b(Region::A);
        item.b.fill(0);
        item.b[0] = 1;
        item.amm(Region::A)?;
    }
    finish(&item, signature.len(), output)
}

/// The shader's `finish`: full normalization, one conditional subtraction, the word stream.
fn finish(item: &Item<'_>, words: usize, output: &mut Output<'_>) -> Result<(), ModelError> {
    let w = item.variant.limb_bits();
    let mask = item.variant.limb_mask();
    let mut x = item.b.clone();
    let mut carry = 0u32;
    for limb in &mut x {
        let v = *limb + carry;
        *limb = v & mask;
        carry = v >> w;
    }
    if carry != 0 {
        return Err(ModelError::Form("carry out of the result"));
    }
    let subtract = |x: &[u32]| {
        let mut borrow = 0u32;
        let mut d = Vec::with_capacity(x.len());
        for (xi, ni) in x.iter().zip(&item.n) {
            let v = (xi | (1 << w)) - ni - borrow;
            d.push(v & mask);
            borrow = 1 - (v >> w);
        }
        (d, borrow)
    };
    let (difference, borrow) = subtract(&x);
    if borrow == 0 {
        x = difference;
    }
    let bytes = item.key.bytes;
    let mut emit = |at: usize, word: u32| {
        if at >= words {
            return;
        }
        match output {
            Output::Words(out) => out[at] = word,
            Output::Compare { digest, same } => {
                // `at` < words <= 128.
                #[expect(clippy::cast_possible_truncation, reason = "a word index")]
                let expected = encoded_word(digest, bytes, at as u32);
                *same &= word == expected;
            }
        }
    };
    let (mut word, mut held, mut at) = (0u32, 0u32, 0usize);
    for &limb in &x {
        word |= limb << held;
        held += w;
        if held >= 32 {
            emit(at, word);
            at += 1;
            held -= 32;
            word = limb >> (w - held);
        }
    }
    while at < words {
        emit(at, word);
        word = 0;
        at += 1;
    }
    Ok(())
}

/// `s^exponent mod n` for one item, as the `exponentiate` entry point writes it: as many
/// little-endian words as `signature` has (the signature slot).
///
/// # Errors
/// [`ModelError`] if a bound the shader relies on fails (a bug), or for a key whose limb count
/// is inconsistent or a zero exponent.
pub fn exponentiate(
    variant: Variant,
    key: &GpuKey,
    signature: &[u32],
    exponent: u64,
) -> Result<Vec<u32>, ModelError> {
    let mut out = vec![0u32; signature.len()];
    run(
        variant,
        key,
        signature,
        exponent,
        &mut Output::Words(&mut out),
    )?;
    Ok(out)
}

/// The `verify` entry point's verdict for one item whose key is in the dispatch's class.
///
/// # Errors
/// As [`exponentiate`].
pub fn verify(
    variant: Variant,
    key: &GpuKey,
    signature: &[u32],
    digest: &[u32; DIGEST_WORDS],
    exponent: u64,
) -> Result<Verdict, ModelError> {
    let mut output = Output::Compare { digest, same: true };
    run(variant, key, signature, exponent, &mut output)?;
    let Output::Compare { same, .. } = output else {
        return Err(ModelError::Input("output"));
    };
    if key.bytes as usize > 4 * signature.len() {
        return Ok(Verdict::KeyMismatch);
    }
    Ok(if same && key.bytes as usize >= MIN_ENCODED_LEN {
        Verdict::Valid
    } else {
        Verdict::Invalid
    })
}
