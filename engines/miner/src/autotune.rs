//! What `auto` runs on this CPU: the fastest CPU backend by a short measurement at first use,
//! cached per CPU model and binary version, because which kernel variant wins depends on the
//! microarchitecture (Intel and AMD Zen 4 differ on 512-bit ternary logic and rotates), not on
//! the feature flags alone. The GPU is never a candidate: `auto` stays on the CPU.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ixi_kernels::pow::{NonceLayout, PreparedJob, Target};
use ixi_kernels::select::BackendKind as _;
use serde_json::{Map, Value, json};

use crate::backend::{self, BackendKind, CpuFeatures};
use crate::cache;

/// The cache file of the choices, one entry per CPU model and binary version.
pub const CACHE_FILE: &str = "cpu-backend.json";

/// This binary's version, part of the cache key: a new version re-measures.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Measuring rounds per candidate, interleaved so that a noisy neighbour slows every candidate
/// alike; each candidate keeps its best round.
const ROUNDS: u32 = 3;

/// One round's measuring time per candidate: about 0.3 s per candidate in all.
const ROUND_TIME: Duration = Duration::from_millis(100);

/// The CPU as `cpuid` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuModel {
    /// `GenuineIntel`, `AuthenticAMD`, ... (`unknown` off x86-64).
    pub vendor: String,
    /// The brand string, e.g. `INTEL(R) XEON(R) PLATINUM 8581C CPU @ 2.10GHz`.
    pub model_name: String,
    /// The display family (base family plus extended family).
    pub family: u32,
    /// The display model (with the extended model where the family has one).
    pub model: u32,
}

impl CpuModel {
    /// The running CPU.
    #[must_use]
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            detect_x86()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self {
                vendor: "unknown".to_owned(),
                model_name: std::env::consts::ARCH.to_owned(),
                family: 0,
                model: 0,
            }
        }
    }

    /// `{vendor, modelName, family, model}`.
    #[must_use]
    pub fn json(&self) -> Value {
        json!({
            "vendor": self.vendor,
            "modelName": self.model_name,
            "family": self.family,
            "model": self.model,
        })
    }

    /// The cache key of this model's choice made by binary version `version`.
    #[must_use]
    pub fn cache_key(&self, version: &str) -> String {
        format!(
            "{} | {} | family {} model {} | ixi-miner {version}",
            self.vendor, self.model_name, self.family, self.model
        )
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unused_unsafe)] // `__cpuid` is safe on newer toolchains
fn detect_x86() -> CpuModel {
    use std::arch::x86_64::__cpuid;
    // SAFETY: `cpuid` exists on every x86-64 CPU; leaves 0 and 1 always, and the brand leaves
    // only after leaf 0x8000_0000 reported them.
    let cpuid = |leaf: u32| unsafe { __cpuid(leaf) };
    let l0 = cpuid(0);
    let vendor: Vec<u8> = [l0.ebx, l0.edx, l0.ecx]
        .iter()
        .flat_map(|r| r.to_le_bytes())
        .collect();
    let l1 = cpuid(1).eax;
    let base_family = (l1 >> 8) & 0xf;
    let base_model = (l1 >> 4) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((l1 >> 20) & 0xff)
    } else {
        base_family
    };
    let model = if base_family == 0x6 || base_family == 0xf {
        base_model | (((l1 >> 16) & 0xf) << 4)
    } else {
        base_model
    };
    let model_name = if cpuid(0x8000_0000).eax >= 0x8000_0004 {
        let brand: Vec<u8> = (0x8000_0002..=0x8000_0004u32)
            .flat_map(|leaf| {
                let r = cpuid(leaf);
                [r.eax, r.ebx, r.ecx, r.edx]
            })
            .flat_map(u32::to_le_bytes)
            .collect();
        String::from_utf8_lossy(&brand)
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned()
    } else {
        String::new()
    };
    CpuModel {
        vendor: String::from_utf8_lossy(&vendor).into_owned(),
        model_name,
        family,
        model,
    }
}

/// Why `auto` runs what it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Measured now: attempts per second of each candidate.
    Measured(Vec<(BackendKind, f64)>),
    /// The choice of an earlier measurement (seconds since the Unix epoch), with its rates.
    Cached {
        /// When it was measured.
        measured_at: u64,
        /// Attempts per second of each candidate then.
        rates: Vec<(BackendKind, f64)>,
    },
    /// Nothing to measure: the only CPU backend this machine runs.
    OnlyCandidate,
}

/// `auto`'s CPU backend and why.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoChoice {
    /// The backend.
    pub kind: BackendKind,
    /// Why.
    pub reason: Reason,
    /// What went wrong with the cache on the way (the choice is still good).
    pub warnings: Vec<String>,
}

impl fmt::Display for AutoChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rates = |rates: &[(BackendKind, f64)]| {
            rates
                .iter()
                .map(|(k, r)| format!("{} {}H/s", k.name(), crate::rate::human(*r)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &self.reason {
            Reason::Measured(r) => write!(f, "measured now: {}", rates(r)),
            Reason::Cached {
                measured_at,
                rates: r,
            } => {
                write!(f, "cached from {}: {}", utc_date(*measured_at), rates(r))
            }
            Reason::OnlyCandidate => f.write_str("the only CPU backend this machine runs"),
        }
    }
}

/// The candidates `auto` measures on this machine: every CPU backend it runs, less the scalar
/// one where a SIMD one exists (it never wins, and would cost a measurement).
#[must_use]
pub fn candidates(features: &CpuFeatures) -> Vec<BackendKind> {
    let mut kinds = backend::available(features);
    if kinds.len() > 1 {
        kinds.retain(|&k| k != BackendKind::Soft);
    }
    kinds
}

/// `auto`'s choice on this machine: cached in the miner's cache directory
/// ([`cache::dir`]), else measured now (about 0.3 s per candidate) and cached.
#[must_use]
pub fn choose(features: &CpuFeatures) -> AutoChoice {
    let mut chooser = Chooser {
        candidates: candidates(features),
        cache_key: CpuModel::detect().cache_key(VERSION),
        cache_dir: cache::dir(),
        now: unix_now(),
    };
    chooser.choose(|kind| measure(kind, features, ROUND_TIME))
}

/// The inputs of a choice, apart from the measuring function (for tests).
#[derive(Debug, Clone)]
pub struct Chooser {
    /// The kinds to choose from, in the order to fall back to.
    pub candidates: Vec<BackendKind>,
    /// The cache entry's key ([`CpuModel::cache_key`]).
    pub cache_key: String,
    /// The cache directory; `None` measures every time.
    pub cache_dir: Option<PathBuf>,
    /// Seconds since the Unix epoch, stored with a new measurement.
    pub now: u64,
}

impl Chooser {
    /// The cached choice if the cache holds a valid one for this key among the candidates,
    /// else the fastest by `measure` (attempts per second of one short run of a kind; called
    /// three times per candidate, interleaved), then cached.
    pub fn choose(&mut self, mut measure: impl FnMut(BackendKind) -> f64) -> AutoChoice {
        let mut warnings = Vec::new();
        let Some(&first) = self.candidates.first() else {
            return AutoChoice {
                kind: BackendKind::Soft,
                reason: Reason::OnlyCandidate,
                warnings,
            };
        };
        if self.candidates.len() == 1 {
            return AutoChoice {
                kind: first,
                reason: Reason::OnlyCandidate,
                warnings,
            };
        }
        if let Some(dir) = &self.cache_dir {
            match cache::load_from(dir, CACHE_FILE, &self.cache_key) {
                Ok(Some(entry)) => match self.parse_entry(&entry) {
                    Some(choice) => return choice,
                    None => warnings.push(format!(
                        "ignoring the cached CPU backend choice in {}: not a choice among {}",
                        dir.join(CACHE_FILE).display(),
                        self.names()
                    )),
                },
                Ok(None) => {}
                Err(e) => warnings.push(format!("ignoring the CPU backend cache: {e}")),
            }
        }
        let mut rates: Vec<(BackendKind, f64)> =
            self.candidates.iter().map(|&k| (k, 0.0)).collect();
        for _ in 0..ROUNDS {
            for (kind, best) in &mut rates {
                *best = best.max(measure(*kind));
            }
        }
        // The first of equals: the fallback order breaks ties.
        let kind = rates
            .iter()
            .fold((first, f64::NEG_INFINITY), |best, &(k, r)| {
                if r > best.1 { (k, r) } else { best }
            })
            .0;
        if let Some(dir) = &self.cache_dir {
            let rates_json: Map<String, Value> = rates
                .iter()
                .map(|(k, r)| (k.name().to_owned(), json!(r)))
                .collect();
            cache::store_in(
                dir,
                CACHE_FILE,
                &self.cache_key,
                json!({"backend": kind.name(), "measuredAt": self.now, "rates": rates_json}),
            );
        }
        AutoChoice {
            kind,
            reason: Reason::Measured(rates),
            warnings,
        }
    }

    fn names(&self) -> String {
        self.candidates
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A cached entry, if it names one of the candidates (the features a VM exposes can
    /// change under the same model name).
    fn parse_entry(&self, entry: &Value) -> Option<AutoChoice> {
        let by_name = |name: &str| self.candidates.iter().copied().find(|k| k.name() == name);
        let kind = by_name(entry.get("backend")?.as_str()?)?;
        let measured_at = entry.get("measuredAt")?.as_u64()?;
        let rates = entry
            .get("rates")?
            .as_object()?
            .iter()
            .filter_map(|(name, rate)| Some((by_name(name)?, rate.as_f64()?)))
            .collect();
        Some(AutoChoice {
            kind,
            reason: Reason::Cached { measured_at, rates },
            warnings: Vec::new(),
        })
    }
}

/// Attempts per second of `kind`'s kernel alone on one thread, for `time`, on a synthetic job
/// shaped as the miner mines (178-byte prefix, 32-byte nonce, 8-byte counter); 0 for a kind
/// that is not a CPU kernel here.
#[must_use]
pub fn measure(kind: BackendKind, features: &CpuFeatures, time: Duration) -> f64 {
    let Ok(kernel) = kind.kernel(features) else {
        return 0.0;
    };
    let Ok(layout) = NonceLayout::new(vec![0x5a; 32], 8) else {
        return 0.0;
    };
    let job = PreparedJob::new(&[0x42; 178], &layout);
    // A target nothing meets: only the search is measured.
    let target = Target::from_bound(&[0; 64]);
    let mut hits = Vec::new();
    let mut attempts = 0u64;
    let started = Instant::now();
    while started.elapsed() < time {
        attempts += kernel.search(&job, &target, attempts, 1 << 12, &mut hits);
    }
    // Attempt counts stay far below 2^53: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    let rate = attempts as f64 / started.elapsed().as_secs_f64();
    rate
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `YYYY-MM-DD HH:MM UTC` of a Unix time (days to a civil date by the proleptic Gregorian
/// calendar's 400-year cycle).
#[must_use]
pub fn utc_date(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let secs = unix_secs % 86_400;
    // Days since 0000-03-01: the leap day falls at the end of each year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// The path of the cache file in `dir` (for messages).
#[must_use]
pub fn cache_path(dir: &Path) -> PathBuf {
    dir.join(CACHE_FILE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::float_cmp)]

    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ixi-miner-autotune-{name}-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn intel() -> CpuModel {
        CpuModel {
            vendor: "GenuineIntel".into(),
            model_name: "Xeon".into(),
            family: 6,
            model: 207,
        }
    }

    fn chooser(dir: &Path, key: String) -> Chooser {
        Chooser {
            candidates: vec![BackendKind::Avx512, BackendKind::Avx512D, BackendKind::Avx2],
            cache_key: key,
            cache_dir: Some(dir.to_path_buf()),
            now: 1_764_642_000,
        }
    }

    /// Fixed rates per kind, counting the calls.
    fn rates(calls: &mut u32) -> impl FnMut(BackendKind) -> f64 + '_ {
        move |k| {
            *calls += 1;
            match k {
                BackendKind::Avx512 => 8.0e6,
                BackendKind::Avx512D => 9.0e6,
                _ => 5.0e6,
            }
        }
    }

    #[test]
    fn the_measured_choice_is_the_fastest_and_is_cached() {
        let dir = temp_dir("fastest");
        let mut calls = 0;
        let c = chooser(&dir, intel().cache_key("1.0.0")).choose(rates(&mut calls));
        assert_eq!(c.kind, BackendKind::Avx512D);
        assert_eq!(calls, 3 * ROUNDS);
        assert!(matches!(c.reason, Reason::Measured(ref r) if r.len() == 3));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(c.to_string().starts_with("measured now: "), "{c}");

        // Second use: from the cache, nothing measured.
        let mut calls = 0;
        let again = chooser(&dir, intel().cache_key("1.0.0")).choose(rates(&mut calls));
        assert_eq!(calls, 0);
        assert_eq!(again.kind, BackendKind::Avx512D);
        assert!(
            matches!(again.reason, Reason::Cached { measured_at: 1_764_642_000, ref rates } if rates.len() == 3)
        );
        assert!(
            again
                .to_string()
                .starts_with("cached from 2025-12-02 02:20 UTC: "),
            "{again}"
        );
    }

    #[test]
    fn the_best_round_counts_and_ties_keep_the_fallback_order() {
        let dir = temp_dir("rounds");
        // avx512 is slowed in two rounds of three by a neighbour; its best round wins.
        let mut round = 0;
        let c = chooser(&dir, "k".into()).choose(|k| {
            round += 1;
            match k {
                BackendKind::Avx512 if round > 3 => 10.0,
                BackendKind::Avx512 => 1.0,
                _ => 5.0,
            }
        });
        assert_eq!(c.kind, BackendKind::Avx512);
        let mut none = Chooser {
            cache_dir: None,
            ..chooser(&dir, "k".into())
        };
        assert_eq!(none.choose(|_| 1.0).kind, BackendKind::Avx512);
    }

    #[test]
    fn another_version_or_model_measures_again() {
        let dir = temp_dir("key");
        let mut calls = 0;
        let _ = chooser(&dir, intel().cache_key("1.0.0")).choose(rates(&mut calls));
        let amd = CpuModel {
            vendor: "AuthenticAMD".into(),
            model_name: "EPYC".into(),
            family: 25,
            model: 17,
        };
        let other_model = CpuModel {
            model: 143,
            ..intel()
        };
        for key in [
            intel().cache_key("1.0.1"),
            amd.cache_key("1.0.0"),
            other_model.cache_key("1.0.0"),
        ] {
            let mut calls = 0;
            let c = chooser(&dir, key.clone()).choose(rates(&mut calls));
            assert_eq!(calls, 3 * ROUNDS, "{key}");
            assert!(matches!(c.reason, Reason::Measured(_)), "{key}");
        }
        assert_ne!(intel().cache_key("1.0.0"), intel().cache_key("1.0.1"));
        // Every key is still cached beside the others.
        let mut calls = 0;
        let _ = chooser(&dir, amd.cache_key("1.0.0")).choose(rates(&mut calls));
        let _ = chooser(&dir, intel().cache_key("1.0.0")).choose(rates(&mut calls));
        assert_eq!(calls, 0);
    }

    #[test]
    fn a_corrupt_cache_is_ignored_with_a_warning_and_replaced() {
        let dir = temp_dir("corrupt");
        std::fs::write(cache_path(&dir), b"{\"not json").unwrap();
        let mut calls = 0;
        let c = chooser(&dir, "k".into()).choose(rates(&mut calls));
        assert_eq!(c.kind, BackendKind::Avx512D);
        assert_eq!(calls, 3 * ROUNDS);
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
        assert!(c.warnings[0].contains(CACHE_FILE), "{:?}", c.warnings);
        let mut calls = 0;
        let again = chooser(&dir, "k".into()).choose(rates(&mut calls));
        assert_eq!(calls, 0);
        assert!(again.warnings.is_empty());

        // An entry naming no candidate (or a wrong shape) is ignored too.
        for bad in [
            json!({"backend": "wgpu", "measuredAt": 1, "rates": {}}),
            json!({"backend": "avx512"}),
            json!("avx512"),
        ] {
            std::fs::write(cache_path(&dir), json!({ "k": bad }).to_string()).unwrap();
            let mut calls = 0;
            let c = chooser(&dir, "k".into()).choose(rates(&mut calls));
            assert_eq!(calls, 3 * ROUNDS, "{bad}");
            assert_eq!(c.warnings.len(), 1, "{bad}: {:?}", c.warnings);
        }
    }

    #[test]
    fn one_candidate_is_not_measured_and_the_gpu_never_is_one() {
        let mut c = Chooser {
            candidates: vec![BackendKind::Soft],
            cache_key: "k".into(),
            cache_dir: None,
            now: 0,
        };
        let choice = c.choose(|_| panic!("nothing to measure"));
        assert_eq!(choice.kind, BackendKind::Soft);
        assert_eq!(choice.reason, Reason::OnlyCandidate);
        assert_eq!(candidates(&CpuFeatures::none()), vec![BackendKind::Soft]);
        let here = candidates(&CpuFeatures::detect());
        assert!(!here.contains(&BackendKind::Wgpu), "{here:?}");
    }

    #[test]
    fn every_simd_backend_is_a_candidate_where_the_cpu_runs_it() {
        let features = CpuFeatures::detect();
        let here = candidates(&features);
        if features.avx512vl().is_none() {
            ixi_kernels::cpu::skip_simd_test("autotune candidates", "AVX-512F and AVX-512VL");
            return;
        }
        assert_eq!(
            here,
            vec![
                BackendKind::Avx512,
                BackendKind::Avx512D,
                BackendKind::Avx512Ymm,
                BackendKind::Avx2
            ]
        );
        // The real measuring function gives every candidate a positive rate.
        for kind in here {
            assert!(
                measure(kind, &features, Duration::from_millis(5)) > 0.0,
                "{kind}"
            );
        }
        assert_eq!(
            measure(BackendKind::Wgpu, &features, Duration::from_millis(5)),
            0.0
        );
    }

    #[test]
    fn cpu_model_is_detected_and_dates_are_civil() {
        let cpu = CpuModel::detect();
        #[cfg(target_arch = "x86_64")]
        {
            assert!(
                ["GenuineIntel", "AuthenticAMD", "HygonGenuine"].contains(&cpu.vendor.as_str())
                    || !cpu.vendor.is_empty(),
                "{cpu:?}"
            );
            assert!(cpu.family >= 6, "{cpu:?}");
        }
        let j = cpu.json();
        for field in ["vendor", "modelName", "family", "model"] {
            assert!(j.get(field).is_some(), "{field}");
        }
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_709_164_800 + 3661), "2024-02-29 01:01 UTC");
        assert_eq!(utc_date(4_102_444_799), "2099-12-31 23:59 UTC");
    }
}
