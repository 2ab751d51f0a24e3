//! Choosing a compute backend, shared by the search and the verification engines: `auto` or a
//! forced kind, resolved once against the CPU's features.
//!
//! Each engine lists its kinds by implementing [`BackendKind`]; parsing `--backend`, resolving
//! `auto` and the error for a kind this machine lacks are written once, here.

use std::fmt;
use std::str::FromStr;

use crate::cpu::CpuFeatures;

/// An engine's backend kinds.
pub trait BackendKind: Copy + Eq + fmt::Debug + fmt::Display + Send + Sync + 'static {
    /// Every kind `--backend` names.
    const KINDS: &'static [Self];
    /// The kinds `auto` may choose, fastest first.
    const AUTO_ORDER: &'static [Self];
    /// The engine's GPU kind, if it has one.
    const GPU: Option<Self> = None;

    /// The name `--backend` takes.
    fn name(self) -> &'static str;

    /// Why this machine cannot run the kind, or `None` if it can.
    fn unsupported_reason(self, features: &CpuFeatures) -> Option<String>;

    /// Whether the kind runs on a GPU rather than on the CPU (what `devices` reports).
    fn is_gpu(self) -> bool {
        Self::GPU == Some(self)
    }
}

/// Why a build without an engine's `gpu` feature runs no GPU backend.
pub const NO_GPU_BUILD: &str = "this build has no GPU support (the gpu feature is off)";

/// An engine's backend types over its [`BackendKind`] type `$kind`: `BackendChoice` and
/// `SelectError` ([`BackendChoice`] and [`SelectError`] of `$kind`), and `impl Display` for
/// `$kind` (the name `--backend` takes). `$engine` names the engine in the docs.
#[macro_export]
macro_rules! engine_backend_types {
    ($kind:ident, $engine:literal) => {
        #[doc = concat!(
            "The ", $engine, "'s backend request: `auto` or a forced [`", stringify!($kind), "`]."
        )]
        pub type BackendChoice = $crate::select::BackendChoice<$kind>;
        /// Why a backend request cannot be met on this machine.
        pub type SelectError = $crate::select::SelectError<$kind>;

        impl ::std::fmt::Display for $kind {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::select::BackendKind::name(*self))
            }
        }
    };
}

/// A backend request: a specific kind, or the fastest this machine supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice<K> {
    /// The fastest supported kind.
    Auto,
    /// Exactly this kind; an error if unsupported.
    Forced(K),
}

/// Why a backend request cannot be met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SelectError<K: BackendKind> {
    /// A backend name that does not exist.
    #[error("unknown backend {name:?}: expected one of auto, {expected}")]
    Unknown {
        /// The name given.
        name: String,
        /// The names that exist.
        expected: String,
    },
    /// No kind for `auto` to choose (an engine without portable fallback).
    #[error("no backend available on this machine")]
    NothingAvailable,
    /// A forced backend this machine cannot run.
    #[error("backend {kind} is not supported on this machine: {reason}")]
    Unsupported {
        /// The backend asked for.
        kind: K,
        /// What is missing.
        reason: String,
    },
}

impl<K: BackendKind> SelectError<K> {
    /// `kind` forced in a build without the `gpu` feature.
    #[must_use]
    pub fn no_gpu_build(kind: K) -> Self {
        Self::Unsupported {
            kind,
            reason: NO_GPU_BUILD.to_owned(),
        }
    }
}

impl<K: BackendKind> FromStr for BackendChoice<K> {
    type Err = SelectError<K>;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        if s == "auto" {
            return Ok(Self::Auto);
        }
        K::KINDS
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .map(Self::Forced)
            .ok_or_else(|| SelectError::Unknown {
                expected: K::KINDS
                    .iter()
                    .map(|k| k.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                name: s,
            })
    }
}

impl<K: BackendKind> fmt::Display for BackendChoice<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Forced(k) => f.write_str(k.name()),
        }
    }
}

impl<K: BackendKind> BackendChoice<K> {
    /// The kind this machine runs for this request: a forced kind if it runs here, else the
    /// first of [`BackendKind::AUTO_ORDER`] that does (the last one if none reports support).
    ///
    /// # Errors
    /// [`SelectError::Unsupported`] when a forced kind cannot run here;
    /// [`SelectError::NothingAvailable`] for `auto` when the engine lists no kind for it.
    pub fn resolve(self, features: &CpuFeatures) -> Result<K, SelectError<K>> {
        match self {
            Self::Auto => available(features)
                .first()
                .copied()
                .or_else(|| K::AUTO_ORDER.last().copied())
                .ok_or(SelectError::NothingAvailable),
            Self::Forced(kind) => match kind.unsupported_reason(features) {
                None => Ok(kind),
                Some(reason) => Err(SelectError::Unsupported { kind, reason }),
            },
        }
    }
}

/// The kinds `auto` may choose that this machine runs, fastest first.
#[must_use]
pub fn available<K: BackendKind>(features: &CpuFeatures) -> Vec<K> {
    K::AUTO_ORDER
        .iter()
        .copied()
        .filter(|k| k.unsupported_reason(features).is_none())
        .collect()
}

/// For tests: the kinds to run, either the one `env_var` forces (one leg of CI's backend
/// matrix), or every kind of [`BackendKind::AUTO_ORDER`] this machine runs, each kind it lacks
/// going through [`skip_simd_test`](crate::cpu::skip_simd_test).
///
/// # Panics
/// When `env_var` names no backend or one this machine lacks, and as
/// [`skip_simd_test`](crate::cpu::skip_simd_test).
#[must_use]
pub fn test_matrix<K: BackendKind>(test: &str, env_var: &str, features: &CpuFeatures) -> Vec<K> {
    if let Ok(forced) = std::env::var(env_var) {
        let kind = forced
            .parse::<BackendChoice<K>>()
            .and_then(|c| c.resolve(features))
            .unwrap_or_else(|e| panic!("{env_var}={forced}: {e}"));
        return vec![kind];
    }
    K::AUTO_ORDER
        .iter()
        .copied()
        .filter(|k| match k.unsupported_reason(features) {
            None => true,
            Some(reason) => {
                crate::cpu::skip_simd_test(test, &format!("backend {k} ({reason})"));
                false
            }
        })
        .collect()
}
