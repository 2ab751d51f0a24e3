//! `--backend` and `--threads`, as both worker binaries take them.

use std::num::NonZeroUsize;
use std::ops::RangeInclusive;

use ixi_kernels::select::{BackendChoice, BackendKind};

/// Parses `--backend` (and its environment variable) for an engine's kinds; the message names
/// the kinds that exist.
///
/// # Errors
/// The unknown name, with the list of known ones.
pub fn parse_backend<K: BackendKind>(s: &str) -> Result<BackendChoice<K>, String> {
    s.parse()
        .map_err(|e: ixi_kernels::select::SelectError<K>| e.to_string())
}

/// `--threads`, or one per core when it is not given.
#[must_use]
pub fn threads_or_all(threads: Option<NonZeroUsize>) -> usize {
    threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
}

/// Most worker threads a command starts: far above any machine this runs on, far below what
/// makes the operating system refuse (a thread costs a stack and a guard page).
pub const MAX_THREADS: usize = 1024;

/// `--threads`: 1 to [`MAX_THREADS`].
///
/// # Errors
/// Not a number, or outside the range.
pub fn parse_threads(s: &str) -> Result<NonZeroUsize, String> {
    let n: usize = parse_as(s, "a thread count")?;
    NonZeroUsize::new(n)
        .filter(|n| n.get() <= MAX_THREADS)
        .ok_or_else(|| format!("{n} threads: must be 1 to {MAX_THREADS}"))
}

/// Longest time a command can be asked to run: about 31 years, beyond any real use and well
/// inside what a `Duration` holds.
pub const MAX_SECONDS: f64 = 1e9;

/// A duration in seconds from 0 (meaning no limit where the flag says so) to [`MAX_SECONDS`].
///
/// # Errors
/// Not a number, not finite, negative or above the maximum.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = parse_as(s, "a number of seconds")?;
    if (0.0..=MAX_SECONDS).contains(&v) {
        Ok(v)
    } else {
        Err(format!(
            "{} seconds: must be 0 to {MAX_SECONDS:e}",
            short(s)
        ))
    }
}

/// Longest measurement a `bench` takes per measurand: an hour.
pub const MAX_BENCH_SECONDS: f64 = 3600.0;

/// `bench --seconds`: above 0, at most [`MAX_BENCH_SECONDS`].
///
/// # Errors
/// Not a number, not positive, or above the maximum.
pub fn parse_bench_seconds(s: &str) -> Result<f64, String> {
    let v = parse_seconds(s)?;
    if v > 0.0 && v <= MAX_BENCH_SECONDS {
        Ok(v)
    } else {
        Err(format!(
            "{v} seconds: a measurement takes more than 0 and at most {MAX_BENCH_SECONDS} seconds"
        ))
    }
}

/// `s`, trimmed, as a whole number in `range`, if it is one (the caller's error says the range).
#[must_use]
pub fn count_in(s: &str, range: RangeInclusive<usize>) -> Option<usize> {
    s.trim().parse().ok().filter(|n| range.contains(n))
}

/// `s`, trimmed, as a `T`; else an error that calls (the start of) it not `what`.
fn parse_as<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("{:?} is not {what}", short(s)))
}

/// At most the first 100 characters of what was given, for error messages: an argument can be
/// as long as a command line allows.
#[must_use]
pub fn short(s: &str) -> String {
    const SHOWN: usize = 100;
    match s.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_flags_have_ranges_and_never_panic() {
        assert_eq!(parse_threads("8").map(NonZeroUsize::get), Ok(8));
        for bad in ["0", "1025", "4294967296", "100000", "-1", "x", ""] {
            assert!(parse_threads(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_seconds("0"), Ok(0.0));
        assert_eq!(parse_seconds("2.5"), Ok(2.5));
        for bad in ["1e300", "18446744073709551616", "-1", "NaN", "inf", "x"] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
        assert!(parse_bench_seconds("0").is_err());
        assert!(parse_bench_seconds("3601").is_err());
        assert_eq!(parse_bench_seconds("6"), Ok(6.0));
        let long = "9".repeat(1_000_000);
        let e = parse_threads(&long).unwrap_err();
        assert!(e.len() < 200, "{e}");
    }
}
