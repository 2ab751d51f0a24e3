//! CPU features, detected once, and the tokens that prove them.
//!
//! A SIMD lane type can only be used through an entry point that takes its token, and a token
//! can only be had from [`CpuFeatures::detect`] on a CPU that has the feature: that is what makes
//! the `unsafe` intrinsic calls inside the lane types sound.

/// Proof that this CPU runs AVX2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx2Token(());

/// Proof that this CPU runs AVX-512 Foundation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx512Token(());

/// Proof that this CPU runs AVX-512 Foundation and its 256-bit forms (AVX-512 VL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Avx512VlToken(());

/// Proof that this CPU runs AVX-512 Foundation and AVX-512 IFMA (52-bit multiply-add).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfmaToken(());

impl IfmaToken {
    /// The AVX-512 Foundation token: an IFMA token is only issued when AVX-512F is present too.
    #[must_use]
    pub fn avx512(self) -> Avx512Token {
        Avx512Token(())
    }
}

/// The CPU features ixi-accel uses, detected once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuFeatures {
    avx2: bool,
    avx512f: bool,
    avx512vl: bool,
    avx512ifma: bool,
    bmi2: bool,
}

impl CpuFeatures {
    /// Detects the running CPU's features.
    #[must_use]
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            Self {
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                avx512f: std::arch::is_x86_feature_detected!("avx512f"),
                avx512vl: std::arch::is_x86_feature_detected!("avx512vl"),
                avx512ifma: std::arch::is_x86_feature_detected!("avx512ifma"),
                bmi2: std::arch::is_x86_feature_detected!("bmi2"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Self::default()
        }
    }

    /// No features at all: only portable code runs.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// The AVX2 token, if this CPU has AVX2.
    #[must_use]
    pub fn avx2(&self) -> Option<Avx2Token> {
        self.avx2.then_some(Avx2Token(()))
    }

    /// The AVX-512 token, if this CPU has AVX-512 Foundation.
    #[must_use]
    pub fn avx512(&self) -> Option<Avx512Token> {
        self.avx512f.then_some(Avx512Token(()))
    }

    /// The AVX-512 VL token, if this CPU has AVX-512F and AVX-512 VL.
    #[must_use]
    pub fn avx512vl(&self) -> Option<Avx512VlToken> {
        (self.avx512f && self.avx512vl).then_some(Avx512VlToken(()))
    }

    /// The AVX-512 IFMA token, if this CPU has AVX-512F and AVX-512 IFMA.
    #[must_use]
    pub fn ifma(&self) -> Option<IfmaToken> {
        (self.avx512f && self.avx512ifma).then_some(IfmaToken(()))
    }

    /// `(name, detected)` pairs for display.
    #[must_use]
    pub fn list(&self) -> [(&'static str, bool); 5] {
        [
            ("avx2", self.avx2),
            ("avx512f", self.avx512f),
            ("avx512vl", self.avx512vl),
            ("avx512ifma", self.avx512ifma),
            ("bmi2", self.bmi2),
        ]
    }
}

/// For tests: a SIMD feature this CPU lacks is a printed skip, or a failure where
/// `REQUIRE_SIMD=1` (CI sets it, so that no SIMD test is skipped there without anyone noticing).
///
/// # Panics
/// Under `REQUIRE_SIMD=1`: the test needs `missing` and this CPU lacks it.
pub fn skip_simd_test(test: &str, missing: &str) {
    let why = format!("{test}: this CPU lacks {missing}");
    if std::env::var("REQUIRE_SIMD").is_ok_and(|v| v == "1") {
        panic!("REQUIRE_SIMD=1 but {why}");
    }
    eprintln!("{why}: skipped");
}
