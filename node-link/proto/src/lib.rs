//! `ixi-link-proto`: the sans-IO protocol of the ixi link: versioned frames, a push decoder and
//! the two session state machines, driven with bytes and an explicit `now`.
//!
//! Not built yet: this crate reserves its place so that the boundary "no tokio, no quinn" is a
//! crate boundary from the start.
