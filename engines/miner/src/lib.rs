//! `ixi-miner`: the signer proof-of-work search of an Ixian DLT node, on the fastest CPU path
//! this machine has.
//!
//! - [`backend`]: the [`SearchBackend`](backend::SearchBackend) trait every compute backend
//!   implements (load a job once, search a counter range per batch), CPU feature detection into
//!   a token, and the portable scalar backend.
//! - [`autotune`]: what `auto` runs: the fastest CPU backend by a short measurement at first
//!   use, cached per CPU model and binary version.
//! - [`cache`]: measurements kept per machine (GPU dispatch geometry) in the platform's cache
//!   directory.
//! - [`job`]: a mining job: the node's challenge prefix, the minimum difficulty, the nonce layout.
//! - [`scheduler`]: one worker per core, counter ranges handed out from one atomic so that no two
//!   workers repeat work, jobs replaced atomically, and every solution that beats the best one
//!   so far re-verified on the plain `sha3` path before it is reported.
//! - [`selfcheck`]: the known-answer check `bench` runs before measuring.
//! - [`rate`]: rate windows for status lines.

pub mod autotune;
pub mod backend;
pub mod cache;
pub mod job;
pub mod rate;
pub mod scheduler;
pub mod selfcheck;
