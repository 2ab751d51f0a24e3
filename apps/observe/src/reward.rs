//! What a signer difficulty is worth.
//!
//! **The rule in force.** Ixian pays a block's signing reward to its signers in proportion to
//! each signer's PoW difficulty: a signer of difficulty `D` in a block whose signers' difficulties
//! sum to `T` ("Total Signer Difficulty") gets `D / T` of it. Open upstream proposals would split
//! the reward equally among signers instead; the estimate here follows the rule in force.
//!
//! **The reward by height** (Ixian-Core `ConsensusConfig.calculateSigningRewardForBlock`, used
//! as facts): 576 IXI per block below height 6,307,200; 288 below 9,460,800; 144 below
//! 12,614,400; 72 below 15,768,000; 36 from then on. Blocks up to 1,802,000 used formulas of
//! the supply, which are not reproduced: no estimate is given for them. From block version 10
//! on, a block's transaction fees are added to its signing reward; they vary per block and are
//! left out, so the estimate is a floor.
//!
//! **The share.** The estimate answers "had this solution signed that block": the block's
//! total `T` is taken as the other signers' sum, and the share is `D / (T + D)`. It is never
//! above 1, and when the node already signed the block with an earlier solution `T` counts
//! that one too, which makes the share a little low (by less than `(D / T)²` relatively).
//!
//! **The best difficulty of a number of attempts.** An attempt's hash `H` is uniform; the
//! difficulty is `M / H` (`M` = `maxTargetHash`, `2^512 - 2^456`; negative `H`, the upper
//! half, has difficulty 0), so `P(difficulty ≥ D) = M / (D · 2^512) = (1 - 2^-56) / D`, which
//! is `1 / D` for every purpose here. The best of `W` independent attempts stays below `D` with
//! probability `(1 - 1/D)^W ≈ e^(-W/D)`. Its median solves `e^(-W/D) = 1/2`: `D = W / ln 2`;
//! more generally it is at most `W / ln(1/q)` with probability `q` (10 %: `0.43 W`, 90 %:
//! `9.5 W`). Its mean is infinite (the tail falls as `1/D`), which is why the median is what is
//! shown. With a hash rate `R` over a block time `t`, `W = R · t`: the median best difficulty of
//! a block grows linearly with the hash rate, and so, while `D` is small beside `T`, does the
//! share.

use std::f64::consts::LN_2;

use serde_json::{Map, Value, json};

/// A difficulty as a float, for shares, rates and charts (exact values stay strings).
#[must_use]
pub fn difficulty_f64(d: &ixi_formats::number::IxiNumber) -> f64 {
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// Heights at or below this one used supply-based reward formulas (not estimated here).
pub const SUPPLY_BASED_UNTIL: u64 = 1_802_000;

/// `(first height not paid this, IXI per block)`, in order.
const SCHEDULE: [(u64, u64); 4] = [
    (6_307_200, 576),
    (9_460_800, 288),
    (12_614_400, 144),
    (15_768_000, 72),
];

/// The reward from the last step of the schedule on.
const FINAL_REWARD: u64 = 36;

/// The block signing reward at `height` in whole IXI, without the transaction fees; `None` for
/// the supply-based heights up to [`SUPPLY_BASED_UNTIL`].
#[must_use]
pub fn signing_reward(height: u64) -> Option<u64> {
    if height <= SUPPLY_BASED_UNTIL {
        return None;
    }
    Some(
        SCHEDULE
            .iter()
            .find(|(below, _)| height < *below)
            .map_or(FINAL_REWARD, |(_, reward)| *reward),
    )
}

/// The share of a block's signing reward that difficulty `d` gets beside signers totalling
/// `total`: `d / (total + d)`; `None` unless both are finite and `d` is positive.
#[must_use]
pub fn share(d: f64, total: f64) -> Option<f64> {
    (d.is_finite() && total.is_finite() && d > 0.0 && total >= 0.0).then(|| d / (total + d))
}

/// The median of the best difficulty of `attempts` attempts: `attempts / ln 2`.
#[must_use]
pub fn median_best_difficulty(attempts: f64) -> f64 {
    attempts / LN_2
}

/// The difficulty the best of `attempts` attempts stays at or below with probability `q`
/// (0 < q < 1): `attempts / ln(1/q)`.
#[must_use]
pub fn best_difficulty_quantile(attempts: f64, q: f64) -> f64 {
    attempts / (1.0 / q).ln()
}

/// The estimate's JSON fields for difficulty `d` beside a block total `total` at `height`:
/// `shareOfBlock` (0..1), `sharePercent`, `blockSigningRewardIxi` (whole IXI, null for the
/// supply-based heights) and `ixiPerBlock` (null likewise); empty when `d` is not positive.
#[must_use]
pub fn estimate_fields(height: Option<u64>, d: f64, total: f64) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(share) = share(d, total) else {
        return out;
    };
    let reward = height.and_then(signing_reward);
    out.insert("shareOfBlock".into(), json!(share));
    out.insert("sharePercent".into(), json!(share * 100.0));
    out.insert("blockSigningRewardIxi".into(), json!(reward));
    // Whole IXI, far below 2^53: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    out.insert(
        "ixiPerBlock".into(),
        json!(reward.map(|r| r as f64 * share)),
    );
    out
}

/// The operator's sentence for the estimate, e.g. "your best solution is 1.2% of the block's
/// total signer difficulty, about 6.9 IXI per block signed".
#[must_use]
pub fn sentence(fields: &Map<String, Value>) -> Option<String> {
    let percent = fields.get("sharePercent")?.as_f64()?;
    let ixi = fields.get("ixiPerBlock").and_then(Value::as_f64);
    Some(match ixi {
        Some(ixi) => format!(
            "your best solution is {percent:.4}% of the block's total signer difficulty, about {ixi:.4} IXI per block signed (fees not included)"
        ),
        None => format!(
            "your best solution is {percent:.4}% of the block's total signer difficulty (no reward estimate at this height)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_by_height() {
        for (height, reward) in [
            (1, None),
            (SUPPLY_BASED_UNTIL, None),
            (SUPPLY_BASED_UNTIL + 1, Some(576)),
            (6_307_199, Some(576)),
            (6_307_200, Some(288)),
            (9_460_799, Some(288)),
            (9_460_800, Some(144)),
            (12_614_400, Some(72)),
            (15_767_999, Some(72)),
            (15_768_000, Some(36)),
            (u64::MAX, Some(36)),
        ] {
            assert_eq!(signing_reward(height), reward, "height {height}");
        }
    }

    #[test]
    fn a_share_and_its_reward() {
        // 1e9 beside 99e9: one percent.
        let f = estimate_fields(Some(5_000_000), 1e9, 99e9);
        assert!((f["shareOfBlock"].as_f64().unwrap_or(0.0) - 0.01).abs() < 1e-12);
        assert_eq!(f["blockSigningRewardIxi"], 576);
        assert!((f["ixiPerBlock"].as_f64().unwrap_or(0.0) - 5.76).abs() < 1e-9);
        let text = sentence(&f).unwrap_or_default();
        assert!(
            text.contains("1.0000%") && text.contains("5.7600 IXI"),
            "{text}"
        );
        // No reward at supply-based heights, the share all the same.
        let f = estimate_fields(Some(1000), 1e9, 99e9);
        assert_eq!(f["ixiPerBlock"], Value::Null);
        assert!(
            sentence(&f)
                .unwrap_or_default()
                .contains("no reward estimate")
        );
        // Nothing for a zero or unusable difficulty; all of an empty block.
        assert!(estimate_fields(Some(5_000_000), 0.0, 1e9).is_empty());
        assert!(estimate_fields(Some(5_000_000), f64::NAN, 1e9).is_empty());
        assert_eq!(share(5.0, 0.0), Some(1.0));
    }

    /// A small deterministic generator (xorshift64*): the tests need no seed source.
    struct Xorshift(u64);

    impl Xorshift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    #[test]
    fn a_difficulty_of_d_is_met_once_in_d_attempts() {
        // The exact difficulty of uniformly random hashes (SHA3-512 of a counter), against the
        // claim P(difficulty >= D) = 1/D that the estimate rests on.
        let attempts = 40_000u32;
        for d in [2u64, 8] {
            let threshold = ixi_formats::number::IxiNumber::from_whole(d);
            let met = (0..attempts)
                .filter(|i| {
                    let hash = ixi_formats::hash::sha3_512(&i.to_le_bytes());
                    ixi_formats::difficulty::hash_to_difficulty(&hash).is_ok_and(|x| x >= threshold)
                })
                .count();
            let expected = f64::from(attempts) / f64::from(u32::try_from(d).unwrap_or(1));
            // Binomial: four standard deviations.
            let sd = (expected * (1.0 - 1.0 / f64::from(u32::try_from(d).unwrap_or(1)))).sqrt();
            #[allow(clippy::cast_precision_loss)]
            let met = met as f64;
            assert!(
                (met - expected).abs() < 4.0 * sd,
                "D {d}: {met} of {attempts}"
            );
        }
    }

    #[test]
    fn the_best_of_w_attempts_has_median_w_over_ln_2() {
        // Monte Carlo: 2001 trials of W attempts, each attempt's difficulty 1/u for a uniform u
        // in (0, 1] (so P(d >= D) = 1/D); the median of the trials' best difficulties.
        let mut rng = Xorshift(0x9E37_79B9_7F4A_7C15);
        let w = 500;
        let mut bests: Vec<f64> = (0..2001)
            .map(|_| {
                (0..w)
                    .map(|_| {
                        // 53 random bits: an exact f64 in (0, 1].
                        #[allow(clippy::cast_precision_loss)]
                        let u = ((rng.next() >> 11) + 1) as f64 / (1u64 << 53) as f64;
                        1.0 / u
                    })
                    .fold(0.0, f64::max)
            })
            .collect();
        bests.sort_by(f64::total_cmp);
        let median = bests[1000];
        let predicted = median_best_difficulty(f64::from(w));
        assert!(
            (median / predicted - 1.0).abs() < 0.1,
            "median {median}, predicted {predicted}"
        );
        // And the deciles.
        let (low, high) = (bests[200], bests[1800]);
        let (p10, p90) = (
            best_difficulty_quantile(f64::from(w), 0.1),
            best_difficulty_quantile(f64::from(w), 0.9),
        );
        assert!((low / p10 - 1.0).abs() < 0.15, "{low} vs {p10}");
        assert!((high / p90 - 1.0).abs() < 0.25, "{high} vs {p90}");
    }
}
