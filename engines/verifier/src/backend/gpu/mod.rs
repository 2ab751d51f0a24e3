//! The GPU backend: the WGSL RSA kernel ([`ixi_kernels::rsa_wgsl`]) through wgpu, with a CPU
//! backend beside it.
//!
//! # What goes where
//!
//! Each item is routed as the CPU backends route it, so the verdicts are theirs:
//!
//! - a signature that is not exactly `k` bytes or not below `n` is invalid without arithmetic
//!   (as on every backend);
//! - keys of at most 4096 bits with an exponent from 1 to 2^64 − 1 go to the GPU: RSA-2048 and
//!   RSA-4096 at full speed, other sizes at the cost of their size class (a 3072-bit key costs
//!   what a 4096-bit one does on the portable variant);
//! - larger moduli (the verifier takes up to 16384 bits) and exponents over 64 bits or zero go
//!   to the CPU backend (IFMA where the CPU has it, else scalar), which runs them while the
//!   GPU works.
//!
//! The GPU computes `s^e mod n` and compares it with the PKCS#1 v1.5 SHA-512 encoding itself
//! (the host sends the 64-byte digest, the kernel builds the rest from the key's length) and
//! writes one magic verdict word per item; the readback is 4 bytes per item.
//!
//! # Host pipeline
//!
//! Built once per device (`context`): the pipeline of the variant (`u64` accumulators where
//! the adapter has `SHADER_INT64`, else `u32`), the key table's device copy, two dispatch slots.
//! Per key, once: [`GpuKey`] (`n`, `R² mod n`, `n0'`), cached by modulus in a bounded table
//! (`keys`) whose device copy grows as keys arrive. Per batch: items grouped by size class
//! and exponent (the kernel's invocations of a dispatch share both), each group cut into
//! dispatches sized to about 100 ms of the measured rate (`pace`); while one dispatch runs,
//! the host hashes and packs the next one (on the backend's threads, SHA-512 in AVX-512 lanes
//! where the CPU has them) and submits it, then reads the first: two dispatches in flight.
//!
//! # Faults
//!
//! A verdict word that is none (zero: the GPU did not write it), a key mismatch (a host error),
//! a verdict the CPU's re-check of one random item per dispatch disagrees with, a lost or
//! stalled device (a dispatch not done within [`WATCHDOG`]), a validation error: each is a
//! fault. The batch is then verified again, whole, on the CPU backend (a batch is never
//! half-answered), the fault is counted ([`GpuStats::faults`]) and logged (`tracing` warning),
//! and the device context is dropped and built again for the next batch. After consecutive
//! faults the GPU rests 1, 2, 4 … up to 60 s between attempts (the CPU answers meanwhile), so a
//! broken device costs at most one failed attempt and one warning a minute.

mod context;
mod keys;
mod pace;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use ixi_gpu::{GpuInfo, NO_ADAPTER, discover};
use ixi_kernels::cpu::{Avx512Token, CpuFeatures};
use ixi_kernels::rsa_wgsl::{
    GpuInputError, GpuItem, GpuKey, GpuKeyError, GpuParams, MAX_MODULUS_BITS, Variant, Verdict,
    digest_words,
};
use rayon::prelude::*;

use super::{BackendChoice, BackendError, BackendKind, SelectError, VerifyBackend};
use crate::digest::sha512_into;
use crate::item::VerifyItem;
use crate::key::VerifyingKey;
use context::{Context, InFlight, Prepared};
use keys::KeyTable;
pub use keys::MAX_KEYS;
use pace::{Class, Pace};

/// A dispatch not done within this time is a stalled device. Dispatches are sized to about
/// 100 ms, so this is far beyond any healthy one. (A new device's first dispatch, which may
/// compile the shader, has a warm-up of its own with a longer limit.)
pub const WATCHDOG: Duration = Duration::from_secs(20);
/// Longest rest after consecutive faults.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// How to open the GPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WgpuOptions {
    /// The adapter (in [`discover`] order); `None` takes the first hardware adapter, or the
    /// first adapter when all are software (lavapipe): `wgpu` was asked for by name.
    pub adapter: Option<usize>,
    /// Use the `u64` variant where the adapter has `SHADER_INT64` (else the portable one).
    pub prefer_int64: bool,
    /// Most keys the GPU key table holds (1040 bytes each on the host and on the device; at
    /// least one). A dispatch holds at most this many items.
    pub max_keys: usize,
}

impl Default for WgpuOptions {
    fn default() -> Self {
        Self {
            adapter: None,
            prefer_int64: true,
            max_keys: MAX_KEYS,
        }
    }
}

/// A GPU fault: the batch it interrupted is verified on the CPU.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuFault {
    /// The device failed: lost, stalled, a validation error, a failed readback.
    #[error(transparent)]
    Device(#[from] ixi_gpu::GpuError),
    /// A word of the readback that is no verdict (zero: not written), or a key mismatch.
    #[error("GPU wrote {word:#010x} for item {offset} of a dispatch of {count}: not a verdict")]
    NotAVerdict {
        /// The word.
        word: u32,
        /// Its position in the dispatch.
        offset: usize,
        /// Items in the dispatch.
        count: usize,
    },
    /// The CPU's re-check of an item disagrees with the GPU's verdict.
    #[error("GPU verdict {gpu} for item {offset} of a dispatch of {count}; the CPU says {cpu}")]
    WrongVerdict {
        /// The GPU's verdict.
        gpu: bool,
        /// The CPU's.
        cpu: bool,
        /// The item's position in the dispatch.
        offset: usize,
        /// Items in the dispatch.
        count: usize,
    },
    /// The readback has another length than the dispatch.
    #[error("GPU readback of {got} words for {want} items")]
    Readback {
        /// Words read.
        got: usize,
        /// Items dispatched.
        want: usize,
    },
    /// The warm-up dispatch (one item, no key) did not answer "key mismatch".
    #[error("the GPU's warm-up dispatch wrote {word:#010x}, not the key-mismatch verdict")]
    WarmUp {
        /// The word it wrote.
        word: u32,
    },
    /// A key the host routed to the GPU was refused (a host error).
    #[error(transparent)]
    Key(#[from] GpuKeyError),
    /// An item the host routed to the GPU was refused (a host error).
    #[error(transparent)]
    Input(#[from] GpuInputError),
    /// A dispatch's key is missing from the key table (a host error).
    #[error("a dispatch's key is missing from the GPU key table")]
    KeyTable,
}

/// What the backend has done since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpuStats {
    /// Batches answered.
    pub batches: u64,
    /// Items the GPU answered.
    pub gpu_items: u64,
    /// Items the CPU backend answered: those the GPU does not take, and every item of a batch
    /// a fault interrupted (or that came while the GPU rested after faults).
    pub cpu_items: u64,
    /// GPU dispatches completed.
    pub dispatches: u64,
    /// Device faults.
    pub faults: u64,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    gpu_items: AtomicU64,
    cpu_items: AtomicU64,
    dispatches: AtomicU64,
    faults: AtomicU64,
}

/// A device fault the tests make happen on the next batch's first dispatch. Not reachable
/// from the command line: only code holding the backend itself can ask for one.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectedFault {
    /// The dispatch is submitted without the kernel: its verdict words stay zero.
    SkipCompute,
    /// Every verdict word of the dispatch is swapped (valid for invalid and back): wrong
    /// arithmetic, which the CPU's re-check must catch.
    WrongVerdicts,
    /// The device is destroyed before the dispatch, as a driver reset would.
    LoseDevice,
}

/// Consecutive faults and the rest they impose.
#[derive(Debug, Default)]
struct Backoff {
    consecutive: u32,
    until: Option<Instant>,
}

impl Backoff {
    fn ready(&self, now: Instant) -> bool {
        self.until.is_none_or(|until| now >= until)
    }

    /// The first fault: the next batch tries again; each further one doubles the rest.
    fn fault(&mut self, now: Instant) {
        self.consecutive = self.consecutive.saturating_add(1);
        if self.consecutive > 1 {
            let rest = Duration::from_secs(1 << (self.consecutive - 2).min(6)).min(MAX_BACKOFF);
            self.until = Some(now + rest);
        }
    }

    fn success(&mut self) {
        *self = Self::default();
    }
}

/// Mutable state, one batch at a time.
struct State {
    /// Built on creation, dropped on a fault, built again on the next batch.
    context: Option<Context>,
    keys: KeyTable,
    pace: Pace,
    backoff: Backoff,
    inject: Option<InjectedFault>,
    /// Picks the item each dispatch re-checks on the CPU.
    audit: u64,
}

/// The GPU verification backend on one adapter.
pub struct WgpuBackend {
    adapter: wgpu::Adapter,
    info: GpuInfo,
    variant: Variant,
    cpu: Box<dyn VerifyBackend>,
    /// Host threads: routing, hashing and packing.
    pool: rayon::ThreadPool,
    avx512: Option<Avx512Token>,
    state: Mutex<State>,
    counters: Counters,
}

impl std::fmt::Debug for WgpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WgpuBackend")
            .field("info", &self.info)
            .field("variant", &self.variant)
            .field("cpu", &self.cpu.name())
            .finish_non_exhaustive()
    }
}

/// One item's way.
enum Route {
    /// Fails its length or range check: invalid.
    Reject,
    /// Not taken by the kernel.
    Cpu,
    /// The kernel's, in this class.
    Gpu(Class),
}

fn route(variant: Variant, item: &VerifyItem<'_>) -> Route {
    let key = item.key;
    if !key.signature_in_range(item.signature) {
        return Route::Reject;
    }
    match key.exponent_u64() {
        Some(exponent) if exponent >= 1 && key.bits() <= MAX_MODULUS_BITS => Route::Gpu(Class {
            threads: variant.threads_for_bits(key.bits()),
            exponent,
        }),
        _ => Route::Cpu,
    }
}

/// The first hardware adapter, else the first adapter.
fn default_adapter(found: &[GpuInfo]) -> Option<usize> {
    found
        .iter()
        .find(|g| !g.software)
        .or_else(|| found.first())
        .map(|g| g.index)
}

impl WgpuBackend {
    /// The backend on the adapter `options` names, with `threads` host threads and a CPU
    /// backend (IFMA where the CPU has it, else scalar) of as many threads beside it.
    ///
    /// # Errors
    /// [`BackendError::Select`] without an adapter, [`BackendError::Gpu`] when the device or
    /// its pipeline cannot be built or its warm-up dispatch fails, [`BackendError::Threads`]
    /// if a pool cannot start.
    pub fn new(
        options: WgpuOptions,
        features: &CpuFeatures,
        threads: usize,
    ) -> Result<Self, BackendError> {
        let unsupported = |reason: String| SelectError::Unsupported {
            kind: BackendKind::Wgpu,
            reason,
        };
        let index = match options.adapter {
            Some(i) => i,
            None => default_adapter(&discover()).ok_or_else(|| unsupported(NO_ADAPTER.into()))?,
        };
        let (adapter, info) = ixi_gpu::adapter(index).map_err(|e| unsupported(e.to_string()))?;
        let variant = if options.prefer_int64 && info.int64 {
            Variant::U64
        } else {
            Variant::U32
        };
        let context = Context::new(&adapter, variant)?;
        let cpu_kind = BackendChoice::Auto.resolve(features)?;
        let cpu = super::create_cpu(cpu_kind, features, threads)?;
        Ok(Self {
            adapter,
            info,
            variant,
            cpu,
            pool: super::pool(threads, "ixi-gpu-host")?,
            avx512: features.avx512(),
            state: Mutex::new(State {
                context: Some(context),
                keys: KeyTable::new(options.max_keys),
                pace: Pace::new(),
                backoff: Backoff::default(),
                inject: None,
                audit: 0x9e37_79b9_7f4a_7c15,
            }),
            counters: Counters::default(),
        })
    }

    /// The adapter.
    #[must_use]
    pub fn info(&self) -> &GpuInfo {
        &self.info
    }

    /// The kernel variant in use.
    #[must_use]
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The CPU backend beside the GPU.
    #[must_use]
    pub fn cpu_backend(&self) -> &'static str {
        self.cpu.name()
    }

    /// What the backend has done so far.
    #[must_use]
    pub fn stats(&self) -> GpuStats {
        let c = &self.counters;
        GpuStats {
            batches: c.batches.load(Ordering::Relaxed),
            gpu_items: c.gpu_items.load(Ordering::Relaxed),
            cpu_items: c.cpu_items.load(Ordering::Relaxed),
            dispatches: c.dispatches.load(Ordering::Relaxed),
            faults: c.faults.load(Ordering::Relaxed),
        }
    }

    /// Makes the next batch's first dispatch fail as `fault` says (tests only).
    #[doc(hidden)]
    pub fn inject_fault(&self, fault: InjectedFault) {
        self.lock().inject = Some(fault);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Verifies the items at `indices` on the CPU backend, writing their verdicts into `ok`.
    fn verify_on_cpu(&self, items: &[VerifyItem<'_>], indices: &[usize], ok: &mut [bool]) {
        if indices.is_empty() {
            return;
        }
        let subset: Vec<VerifyItem<'_>> = indices.iter().map(|&i| items[i]).collect();
        let mut verdicts = vec![false; subset.len()];
        self.cpu.verify_batch(&subset, &mut verdicts);
        for (&i, v) in indices.iter().zip(verdicts) {
            ok[i] = v;
        }
    }

    /// The batch on the GPU (and its CPU-routed items on the CPU meanwhile); the items each
    /// answered. On error some verdicts may be written: the caller answers the whole batch
    /// again.
    fn verify_on_gpu(
        &self,
        state: &mut State,
        items: &[VerifyItem<'_>],
        ok: &mut [bool],
    ) -> Result<(usize, usize), GpuFault> {
        let variant = self.variant;
        let routes: Vec<Route> = self
            .pool
            .install(|| items.par_iter().map(|it| route(variant, it)).collect());
        let mut on_cpu = Vec::new();
        let mut on_gpu: Vec<(Class, usize)> = Vec::new();
        for (i, r) in routes.into_iter().enumerate() {
            match r {
                Route::Reject => {}
                Route::Cpu => on_cpu.push(i),
                Route::Gpu(class) => on_gpu.push((class, i)),
            }
        }
        if on_gpu.is_empty() {
            self.verify_on_cpu(items, &on_cpu, ok);
            return Ok((0, on_cpu.len()));
        }
        // Stable: each class keeps batch order.
        on_gpu.sort_by_key(|&(class, _)| class);
        let context = match state.context.take() {
            Some(c) => c,
            None => Context::new(&self.adapter, variant)?,
        };
        state.context = Some(context);
        let mut run = Run {
            backend: self,
            items,
            key_of: HashMap::new(),
            pending: None,
            slot: 0,
            last_done: None,
        };
        let mut cpu_done = false;
        for group in on_gpu.chunk_by(|a, b| a.0 == b.0) {
            let class = group[0].0;
            let mut rest = group;
            while !rest.is_empty() {
                let size = state.pace.items_for(class).min(state.keys.capacity());
                let (chunk, tail) = rest.split_at(size.min(rest.len()));
                rest = tail;
                let indices: Vec<usize> = chunk.iter().map(|&(_, i)| i).collect();
                run.dispatch(state, class, indices, ok)?;
                if !cpu_done {
                    // The CPU's share while the GPU runs the first dispatch.
                    self.verify_on_cpu(items, &on_cpu, ok);
                    cpu_done = true;
                }
            }
        }
        run.drain(state, ok)?;
        Ok((on_gpu.len(), on_cpu.len()))
    }
}

/// A dispatch in flight and what its readback needs.
struct Pending {
    flight: InFlight,
    /// Its items' batch indices, in dispatch order.
    indices: Vec<usize>,
    /// Its cost (for the pace).
    units: f64,
    /// An injected fault: swap its verdicts.
    wrong: bool,
}

/// One batch's dispatches.
struct Run<'b, 'a> {
    backend: &'b WgpuBackend,
    items: &'b [VerifyItem<'a>],
    /// Key table indices of the batch's keys, by the key's address (a batch repeats keys).
    key_of: HashMap<*const VerifyingKey, u32>,
    /// The dispatch in flight.
    pending: Option<Pending>,
    slot: usize,
    last_done: Option<Instant>,
}

impl Run<'_, '_> {
    /// Packs and submits a dispatch of `indices` (all of `class`), then reads the one before.
    fn dispatch(
        &mut self,
        state: &mut State,
        class: Class,
        indices: Vec<usize>,
        ok: &mut [bool],
    ) -> Result<(), GpuFault> {
        let key_indices = match self.assign_keys(state, &indices)? {
            Some(k) => k,
            None => {
                // The table is full: once nothing in flight names its indices, start afresh.
                self.drain(state, ok)?;
                state.keys.clear();
                self.key_of.clear();
                self.assign_keys(state, &indices)?
                    .ok_or(GpuFault::KeyTable)?
            }
        };
        let prepared = self.prepare(&state.keys, class, &indices, &key_indices)?;
        let units = class.cost() * indices.len() as f64;
        let inject = state.inject.take();
        let Some(context) = state.context.as_mut() else {
            return Err(ixi_gpu::GpuError::Lost.into());
        };
        context.sync_keys(&state.keys);
        if inject == Some(InjectedFault::LoseDevice) {
            context.lose_device();
        }
        let flight = context.submit(
            self.slot,
            &prepared,
            inject != Some(InjectedFault::SkipCompute),
        );
        self.slot ^= 1;
        let launched = Pending {
            flight,
            indices,
            units,
            wrong: inject == Some(InjectedFault::WrongVerdicts),
        };
        if let Some(done) = self.pending.replace(launched) {
            self.finish(state, done, ok)?;
        }
        Ok(())
    }

    /// Reads the dispatch in flight, if any.
    fn drain(&mut self, state: &mut State, ok: &mut [bool]) -> Result<(), GpuFault> {
        match self.pending.take() {
            Some(done) => self.finish(state, done, ok),
            None => Ok(()),
        }
    }

    /// The key table index of each item's key, computing the constants of keys the table
    /// lacks (in parallel); `None` when they do not fit.
    fn assign_keys(
        &mut self,
        state: &mut State,
        indices: &[usize],
    ) -> Result<Option<Vec<u32>>, GpuFault> {
        let mut missing: Vec<&VerifyingKey> = Vec::new();
        let mut seen: HashSet<*const VerifyingKey> = HashSet::new();
        for &i in indices {
            let key = self.items[i].key;
            let address: *const VerifyingKey = key;
            if self.key_of.contains_key(&address) {
                continue;
            }
            if let Some(at) = state.keys.lookup(key.modulus()) {
                self.key_of.insert(address, at);
            } else if seen.insert(address) {
                missing.push(key);
            }
        }
        if missing.len() > state.keys.room() {
            return Ok(None);
        }
        let variant = self.backend.variant;
        let computed: Vec<Result<GpuKey, GpuKeyError>> = self.backend.pool.install(|| {
            missing
                .par_iter()
                .map(|k| GpuKey::from_modulus_be(variant, k.modulus()))
                .collect()
        });
        for (key, gpu_key) in missing.iter().zip(computed) {
            // Two key objects of one modulus: the second finds the first's entry.
            let at = match state.keys.lookup(key.modulus()) {
                Some(at) => at,
                None => state.keys.insert(key.modulus(), gpu_key?),
            };
            self.key_of.insert(*key, at);
        }
        Ok(Some(
            indices
                .iter()
                .map(|&i| {
                    let address: *const VerifyingKey = self.items[i].key;
                    self.key_of.get(&address).copied().unwrap_or(u32::MAX)
                })
                .collect(),
        ))
    }

    /// The dispatch's items (key index, digest) and signatures, in slots as wide as its widest
    /// key's; hashed and packed on the host threads.
    fn prepare(
        &self,
        keys: &KeyTable,
        class: Class,
        indices: &[usize],
        key_indices: &[u32],
    ) -> Result<Prepared, GpuFault> {
        let key = |k: u32| keys.get(k).ok_or(GpuFault::KeyTable);
        let mut words = 1;
        for &k in key_indices {
            words = words.max(key(k)?.signature_words());
        }
        let count = indices.len();
        let mut gpu_items = vec![
            GpuItem {
                key: 0,
                digest: [0; 16]
            };
            count
        ];
        let mut signatures = vec![0u32; count * words];
        let items = self.items;
        let avx512 = self.backend.avx512;
        self.backend.pool.install(|| {
            gpu_items
                .par_chunks_mut(8)
                .zip(signatures.par_chunks_mut(8 * words))
                .zip(indices.par_chunks(8).zip(key_indices.par_chunks(8)))
                .try_for_each(|((out, slots), (lanes, lane_keys))| {
                    let messages: Vec<&[u8]> = lanes.iter().map(|&i| items[i].message).collect();
                    let mut digests = [[0u8; 64]; 8];
                    sha512_into(avx512, &messages, &mut digests[..lanes.len()]);
                    for (j, ((&i, &k), slot)) in lanes
                        .iter()
                        .zip(lane_keys)
                        .zip(slots.chunks_exact_mut(words))
                        .enumerate()
                    {
                        out[j] = GpuItem {
                            key: k,
                            digest: digest_words(&digests[j]),
                        };
                        key(k)?.load_signature(items[i].signature, slot)?;
                    }
                    Ok::<(), GpuFault>(())
                })
        })?;
        let first = key(key_indices[0])?;
        // Dispatches hold at most MAX_DISPATCH items and slots at most 128 words: both fit.
        let params = GpuParams::new(
            first,
            0,
            u32::try_from(count).unwrap_or(u32::MAX),
            class.exponent,
            u32::try_from(words).unwrap_or(u32::MAX),
            0,
        )?;
        Ok(Prepared {
            params,
            items: gpu_items,
            signatures,
        })
    }

    /// Reads a finished dispatch: every word must be a verdict, and one random item's verdict
    /// must be the CPU's.
    fn finish(
        &mut self,
        state: &mut State,
        Pending {
            flight,
            indices,
            units,
            wrong,
        }: Pending,
        ok: &mut [bool],
    ) -> Result<(), GpuFault> {
        let Some(context) = state.context.as_ref() else {
            return Err(ixi_gpu::GpuError::Lost.into());
        };
        let mut words = context.collect(&flight)?;
        let done = Instant::now();
        let started = self
            .last_done
            .map_or(flight.submitted, |last| last.max(flight.submitted));
        self.last_done = Some(done);
        state.pace.record(units, done - started);
        let count = indices.len();
        if words.len() != count {
            return Err(GpuFault::Readback {
                got: words.len(),
                want: count,
            });
        }
        if wrong {
            for w in &mut words {
                *w = match Verdict::from_word(*w) {
                    Some(Verdict::Valid) => Verdict::Invalid.word(),
                    Some(Verdict::Invalid) => Verdict::Valid.word(),
                    _ => *w,
                };
            }
        }
        for (offset, (&i, &word)) in indices.iter().zip(&words).enumerate() {
            ok[i] = match Verdict::from_word(word) {
                Some(Verdict::Valid) => true,
                Some(Verdict::Invalid) => false,
                Some(Verdict::KeyMismatch) | None => {
                    return Err(GpuFault::NotAVerdict {
                        word,
                        offset,
                        count,
                    });
                }
            };
        }
        // One item per dispatch, chosen at random, verified again on the scalar path.
        let offset = pick(&mut state.audit, count);
        let item = &self.items[indices[offset]];
        let cpu = super::verify_one_scalar(item.key, item.message, item.signature);
        if cpu != ok[indices[offset]] {
            return Err(GpuFault::WrongVerdict {
                gpu: ok[indices[offset]],
                cpu,
                offset,
                count,
            });
        }
        WgpuBackend::count(&self.backend.counters.dispatches, 1);
        Ok(())
    }
}

/// A number below `n` from the splitmix64 sequence in `state` (not secret: it only has to be
/// unpredictable to a faulty device, not to an adversary).
fn pick(state: &mut u64, n: usize) -> usize {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // The remainder is below n, a usize.
    usize::try_from(z % (n.max(1) as u64)).unwrap_or(0)
}

impl VerifyBackend for WgpuBackend {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn verify_batch(&self, items: &[VerifyItem<'_>], ok: &mut [bool]) {
        ok.fill(false);
        Self::count(&self.counters.batches, 1);
        let mut state = self.lock();
        let now = Instant::now();
        if !state.backoff.ready(now) {
            self.cpu.verify_batch(items, ok);
            Self::count(&self.counters.cpu_items, items.len());
            return;
        }
        match self.verify_on_gpu(&mut state, items, ok) {
            Ok((gpu, cpu)) => {
                state.backoff.success();
                Self::count(&self.counters.gpu_items, gpu);
                Self::count(&self.counters.cpu_items, cpu);
            }
            Err(fault) => {
                Self::count(&self.counters.faults, 1);
                state.context = None;
                state.backoff.fault(now);
                tracing::warn!(
                    adapter = %self.info.name,
                    items = items.len(),
                    "GPU fault ({fault}): the batch is verified on the CPU ({}); the device is rebuilt for the next batch",
                    self.cpu.name()
                );
                ok.fill(false);
                self.cpu.verify_batch(items, ok);
                Self::count(&self.counters.cpu_items, items.len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_fault_retries_at_once_and_later_ones_rest_longer_up_to_a_minute() {
        let t0 = Instant::now();
        let mut b = Backoff::default();
        assert!(b.ready(t0));
        b.fault(t0);
        assert!(b.ready(t0), "the next batch rebuilds the device");
        b.fault(t0);
        assert!(!b.ready(t0));
        assert!(b.ready(t0 + Duration::from_secs(1)));
        b.fault(t0);
        assert!(!b.ready(t0 + Duration::from_secs(1)));
        assert!(b.ready(t0 + Duration::from_secs(2)));
        for _ in 0..100 {
            b.fault(t0);
        }
        assert!(!b.ready(t0 + Duration::from_secs(59)));
        assert!(b.ready(t0 + MAX_BACKOFF));
        b.success();
        assert!(b.ready(t0));
    }

    #[test]
    fn audited_items_are_spread_over_the_dispatch() {
        let mut state = 1;
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[pick(&mut state, 7)] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        assert_eq!(pick(&mut state, 1), 0);
    }
}
