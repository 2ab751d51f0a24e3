//! How many items one dispatch takes: about [`TARGET`] of GPU time at the rate measured on the
//! previous dispatches, so that a fast GPU gets dispatches large enough to fill it and a slow
//! one (lavapipe) stays far inside the watchdog.
//!
//! Costs are in "units": `T²` times the products of the exponentiation (`T` invocations per
//! item, each running `L = T·D` steps of `D` limbs per product). The first dispatch of a
//! backend is [`MIN_DISPATCH`] RSA-4096 items; each later one is sized from the rate of the one
//! before, which may change it by at most four times, so one odd measurement cannot make a
//! dispatch run past the watchdog.

use std::time::Duration;

/// GPU time one dispatch aims at.
const TARGET: Duration = Duration::from_millis(100);
/// Fewest items in a dispatch (unless the batch has fewer).
pub(super) const MIN_DISPATCH: usize = 32;
/// Most items in a dispatch: the slots' buffers are sized for it (8 MiB of signatures each).
pub(super) const MAX_DISPATCH: usize = 16_384;

/// Items of one dispatch: they share the invocations per item and the exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Class {
    /// Invocations per item, `T`.
    pub(super) threads: u32,
    /// The public exponent.
    pub(super) exponent: u64,
}

impl Class {
    /// The cost of one item in units.
    pub(super) fn cost(self) -> f64 {
        let products = if self.exponent == 65_537 {
            // Conversion, 16 squarings, one multiplication.
            18
        } else {
            // Conversion, a squaring per bit and at most a multiplication per bit, leaving
            // Montgomery form.
            2 * (64 - self.exponent.leading_zeros()) + 2
        };
        f64::from(self.threads).powi(2) * f64::from(products)
    }
}

/// The measured rate.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    units_per_second: f64,
}

impl Pace {
    /// Before any measurement: [`MIN_DISPATCH`] items of the most expensive 65537 class
    /// (RSA-4096 on the portable variant, `T` = 16) per [`TARGET`].
    pub(super) fn new() -> Self {
        let rsa4096 = Class {
            threads: 16,
            exponent: 65_537,
        };
        Self {
            units_per_second: MIN_DISPATCH as f64 * rsa4096.cost() / TARGET.as_secs_f64(),
        }
    }

    /// Items of `class` for the next dispatch.
    pub(super) fn items_for(&self, class: Class) -> usize {
        let items = TARGET.as_secs_f64() * self.units_per_second / class.cost();
        // Clamped to a small range: the float-to-int conversion is exact enough.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a positive count clamped below MAX_DISPATCH"
        )]
        let items = items.clamp(MIN_DISPATCH as f64, MAX_DISPATCH as f64) as usize;
        items
    }

    /// A dispatch of `units` took `busy` of GPU time.
    pub(super) fn record(&mut self, units: f64, busy: Duration) {
        let measured = units / busy.as_secs_f64().max(1e-4);
        self.units_per_second =
            measured.clamp(self.units_per_second / 4.0, self.units_per_second * 4.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_dispatch_is_small_and_later_ones_follow_the_rate() {
        let rsa4096 = Class {
            threads: 16,
            exponent: 65_537,
        };
        let rsa2048 = Class {
            threads: 8,
            exponent: 65_537,
        };
        let mut pace = Pace::new();
        assert_eq!(pace.items_for(rsa4096), MIN_DISPATCH);
        assert_eq!(pace.items_for(rsa2048), 4 * MIN_DISPATCH);
        // Dispatches on a device doing `per_second` RSA-4096 a second: the rate each is sized
        // by moves at most four times per dispatch; the sizes, in order.
        let run = |pace: &mut Pace, per_second: f64| -> Vec<usize> {
            (0..20)
                .map(|_| {
                    let items = pace.items_for(rsa4096);
                    let took = Duration::from_secs_f64(items as f64 / per_second);
                    pace.record(items as f64 * rsa4096.cost(), took);
                    items
                })
                .collect()
        };
        // A GPU doing a million a second: up to the slots' size.
        let sizes = run(&mut pace, 1e6);
        assert!(sizes.windows(2).all(|w| w[1] <= 4 * w[0] + 3), "{sizes:?}");
        assert_eq!(pace.items_for(rsa4096), MAX_DISPATCH);
        // A slow device: 100 a second gives ten items per 100 ms, at least MIN_DISPATCH.
        let sizes = run(&mut pace, 100.0);
        assert!(sizes.windows(2).all(|w| w[0] <= 4 * w[1] + 3), "{sizes:?}");
        assert_eq!(pace.items_for(rsa4096), MIN_DISPATCH);
        let other = Class {
            threads: 16,
            exponent: 3,
        };
        assert!(other.cost() < rsa4096.cost());
        assert!(
            Class {
                threads: 16,
                exponent: u64::MAX
            }
            .cost()
                > rsa4096.cost()
        );
    }
}
