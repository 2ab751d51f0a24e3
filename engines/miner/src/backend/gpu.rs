//! The GPU backend: the WGSL search kernel through wgpu (Vulkan, Metal, DX12).
//!
//! Built once per device and kept: pipeline, uniform and hit buffers, bind groups. A search
//! call splits its range into dispatches and keeps two in flight (double-buffered uniforms
//! and hit buffers), so the GPU is fed while the host reads the previous dispatch's hits.
//! The only readback is the small hit buffer: counters whose hash's most significant word is
//! within the target's. Every one is recomputed on the CPU's plain path: a counter that does
//! not even meet that word is a device fault (reported, never a solution); one that does but
//! misses the full 512-bit target is an ordinary filter pass. A dispatch whose hit buffer
//! overflows is searched again on the CPU, so no hit is lost. A dispatch not finished within
//! the watchdog's time is a stalled device: the search fails with a fault and the device is
//! built anew on the next job load.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ixi_kernels::pow::{Hit, PreparedJob, Target};
use ixi_kernels::simd::SearchKernel;
use ixi_kernels::wgsl::{self, SearchParams, Variant};

use super::{BackendError, NonceRange, SearchBackend};
use crate::job::Job;

/// Why no GPU backend can run: what `devices` and a forced `wgpu` say.
pub const NO_ADAPTER: &str = "no GPU adapter found (a Vulkan, Metal or DX12 driver is needed; on Linux without a GPU, Mesa's lavapipe: mesa-vulkan-drivers)";

/// A GPU failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// The device failed, stalled or returned a result that does not verify.
    #[error("device error: {0}")]
    Device(String),
}

/// How to open a GPU backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuOptions {
    /// Use the native 64-bit shader where the adapter offers `SHADER_INT64`.
    pub prefer_int64: bool,
    /// Measure the dispatch geometry when no cached tuning exists (and cache it).
    pub tune: bool,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            prefer_int64: true,
            tune: true,
        }
    }
}

/// Hit slots per dispatch.
const HIT_CAPACITY: u32 = 1024;
/// A dispatch taking longer than this is a stalled device.
const WATCHDOG: Duration = Duration::from_secs(20);
/// Workgroups per row of a 2-D dispatch (the per-dimension limit is 65535).
const MAX_GROUPS_X: u32 = 32_768;

/// One adapter as `devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    /// Index in discovery order (`--gpu-device`).
    pub index: usize,
    /// Adapter name.
    pub name: String,
    /// Vulkan, Metal, Dx12.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU (software), other.
    pub device_type: String,
    /// Driver name and version.
    pub driver: String,
    /// Whether it offers native 64-bit integers in shaders.
    pub int64: bool,
    /// Whether it is a software rasterizer (lavapipe, WARP): usable, never fast.
    pub software: bool,
}

fn instance() -> wgpu::Instance {
    // GL is not built in: without a Vulkan driver wgpu would otherwise fall back to it.
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

fn adapters() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
}

fn info_of(index: usize, adapter: &wgpu::Adapter) -> GpuInfo {
    let i = adapter.get_info();
    GpuInfo {
        index,
        name: i.name,
        backend: format!("{:?}", i.backend),
        device_type: format!("{:?}", i.device_type),
        driver: format!("{} {}", i.driver, i.driver_info).trim().to_owned(),
        int64: adapter.features().contains(wgpu::Features::SHADER_INT64),
        software: i.device_type == wgpu::DeviceType::Cpu,
    }
}

/// Every adapter wgpu finds.
#[must_use]
pub fn discover() -> Vec<GpuInfo> {
    adapters()
        .iter()
        .enumerate()
        .map(|(i, a)| info_of(i, a))
        .collect()
}

/// Dispatch geometry of one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuning {
    /// Invocations per workgroup.
    pub workgroup_size: u32,
    /// Invocations per dispatch.
    pub dispatch: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            workgroup_size: wgsl::DEFAULT_WORKGROUP_SIZE,
            dispatch: 1 << 18,
        }
    }
}

/// One dispatch slot: its uniform, hit and readback buffers.
struct Slot {
    uniform: wgpu::Buffer,
    hits: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// A dispatch in flight.
struct InFlight {
    slot: usize,
    base: u64,
    count: u64,
    submission: wgpu::SubmissionIndex,
}

/// The `hash_each` pipeline and its buffers, built on first use.
struct Debug {
    pipeline: wgpu::ComputePipeline,
    uniform: wgpu::Buffer,
    out: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

impl Debug {
    fn new(device: &wgpu::Device, variant: Variant) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("ixi hash_each"),
            source: wgpu::ShaderSource::Wgsl(variant.source().into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("ixi hash_each"),
            layout: None,
            module: &module,
            entry_point: Some("hash_each"),
            compilation_options: wgpu::PipelineCompilationOptions::default(),
            cache: None,
        });
        let bytes = u64::from(GpuBackend::HASH_EACH_MAX) * 64;
        let uniform = buffer(
            device,
            "hash_each params",
            SearchParams::BYTES as u64,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        let out = buffer(
            device,
            "hash_each out",
            bytes,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        );
        let readback = buffer(
            device,
            "hash_each readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: uniform.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: out.as_entire_binding(),
                },
            ],
        });
        Self {
            pipeline,
            uniform,
            out,
            readback,
            bind_group,
        }
    }
}

fn buffer(
    device: &wgpu::Device,
    label: &str,
    size: u64,
    usage: wgpu::BufferUsages,
) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage,
        mapped_at_creation: false,
    })
}

/// Maps a finished readback buffer and returns its words.
fn read_buffer(device: &wgpu::Device, buffer: &wgpu::Buffer) -> Result<Vec<u32>, BackendError> {
    let (tx, rx) = mpsc::channel();
    buffer.map_async(wgpu::MapMode::Read, .., move |r| {
        let _ = tx.send(r);
    });
    device
        .poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(WATCHDOG),
        })
        .map_err(|e| device_error(format!("stalled or lost ({e}); restarting the device")))?;
    rx.recv_timeout(WATCHDOG)
        .map_err(|_| device_error("readback never completed"))?
        .map_err(device_error)?;
    let words = {
        let view = buffer.get_mapped_range(..).map_err(device_error)?;
        view.chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    buffer.unmap();
    Ok(words)
}

/// Everything built once per device.
struct Context {
    debug: Option<Debug>,
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    slots: [Slot; 2],
    lost: Arc<std::sync::atomic::AtomicBool>,
    errors: Arc<std::sync::Mutex<Vec<String>>>,
}

fn device_error(e: impl std::fmt::Display) -> BackendError {
    BackendError::Gpu(GpuError::Device(e.to_string()))
}

impl Context {
    fn new(
        adapter: &wgpu::Adapter,
        variant: Variant,
        tuning: Tuning,
    ) -> Result<Self, BackendError> {
        let required_features = match variant {
            Variant::U64 => wgpu::Features::SHADER_INT64,
            Variant::U32Pairs => wgpu::Features::empty(),
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("ixi-miner"),
            required_features,
            required_limits: adapter.limits(),
            ..Default::default()
        }))
        .map_err(device_error)?;
        // wgpu's default handler panics; errors become faults instead.
        let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |_, _| {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
        });
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("ixi search"),
            source: wgpu::ShaderSource::Wgsl(variant.source().into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("ixi search"),
            layout: None,
            module: &module,
            entry_point: Some("search"),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &[("WORKGROUP_SIZE", f64::from(tuning.workgroup_size))],
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(device_error(format!("pipeline: {e}")));
        }
        let layout = pipeline.get_bind_group_layout(0);
        let slot = |i: usize| {
            let hit_bytes = 4 * (1 + u64::from(HIT_CAPACITY));
            let uniform = buffer(
                &device,
                &format!("params {i}"),
                SearchParams::BYTES as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let hits = buffer(
                &device,
                &format!("hits {i}"),
                hit_bytes,
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            );
            let readback = buffer(
                &device,
                &format!("readback {i}"),
                hit_bytes,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&format!("search {i}")),
                layout: &layout,
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: uniform.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: hits.as_entire_binding(),
                    },
                ],
            });
            Slot {
                uniform,
                hits,
                readback,
                bind_group,
            }
        };
        let slots = [slot(0), slot(1)];
        Ok(Self {
            debug: None,
            device,
            queue,
            pipeline,
            slots,
            lost,
            errors,
        })
    }

    fn check(&self) -> Result<(), BackendError> {
        if self.lost.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(device_error("device lost"));
        }
        let mut errors = self
            .errors
            .lock()
            .map_err(|_| device_error("error log poisoned"))?;
        if let Some(e) = errors.pop() {
            errors.clear();
            return Err(device_error(e));
        }
        Ok(())
    }

    /// Queues one dispatch of `count` invocations from `base` into `slot`.
    fn submit(
        &self,
        slot: usize,
        params: &SearchParams,
        count: u64,
        tuning: Tuning,
    ) -> wgpu::SubmissionIndex {
        let s = &self.slots[slot];
        self.queue.write_buffer(&s.uniform, 0, &params.to_bytes());
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(&s.hits, 0, Some(4));
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &s.bind_group, &[]);
            let groups = count.div_ceil(u64::from(tuning.workgroup_size));
            let x = u32::try_from(groups.min(u64::from(MAX_GROUPS_X))).unwrap_or(MAX_GROUPS_X);
            let y = u32::try_from(groups.div_ceil(u64::from(x))).unwrap_or(1);
            pass.dispatch_workgroups(x, y, 1);
        }
        encoder.copy_buffer_to_buffer(&s.hits, 0, &s.readback, 0, None);
        self.queue.submit([encoder.finish()])
    }

    /// Waits for a dispatch and returns its hit count and counters (invocation offsets).
    fn collect(&self, f: &InFlight) -> Result<(u32, Vec<u32>), BackendError> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(f.submission.clone()),
                timeout: Some(WATCHDOG),
            })
            .map_err(|e| device_error(format!("stalled or lost ({e}); restarting the device")))?;
        self.check()?;
        let words = read_buffer(&self.device, &self.slots[f.slot].readback)?;
        let count = words.first().copied().unwrap_or(0);
        let stored = usize::try_from(count.min(HIT_CAPACITY)).unwrap_or(0);
        Ok((count, words[1..=stored].to_vec()))
    }
}

/// The GPU search backend of one adapter.
pub struct GpuBackend {
    adapter: wgpu::Adapter,
    info: GpuInfo,
    variant: Variant,
    tuning: Tuning,
    context: Option<Context>,
    job: Option<PreparedJob>,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("info", &self.info)
            .field("variant", &self.variant)
            .field("tuning", &self.tuning)
            .finish_non_exhaustive()
    }
}

impl GpuBackend {
    /// The backend of adapter `index` (in [`discover`] order), with the 64-bit variant when
    /// the adapter offers it and `prefer_int64`, and tuning from the cache (or measured now
    /// and cached when `tune`).
    ///
    /// # Errors
    /// [`BackendError::Select`] without such an adapter, [`BackendError::Gpu`] when it cannot
    /// be opened.
    pub fn new(index: usize, options: GpuOptions) -> Result<Self, BackendError> {
        let GpuOptions { prefer_int64, tune } = options;
        let adapter =
            adapters()
                .into_iter()
                .nth(index)
                .ok_or_else(|| super::SelectError::Unsupported {
                    kind: super::BackendKind::Wgpu,
                    reason: format!(
                        "no GPU adapter {index} (a Vulkan, Metal or DX12 driver is needed)"
                    ),
                })?;
        let info = info_of(index, &adapter);
        let variant = if prefer_int64 && info.int64 {
            Variant::U64
        } else {
            Variant::U32Pairs
        };
        let mut backend = Self {
            adapter,
            info,
            variant,
            tuning: Tuning::default(),
            context: None,
            job: None,
        };
        match tuning_cache::load(&backend.cache_key()) {
            Some(t) => backend.tuning = t,
            None if tune => {
                backend.tuning = backend.autotune()?;
                tuning_cache::store(&backend.cache_key(), backend.tuning);
            }
            None => {}
        }
        backend.context = Some(Context::new(&backend.adapter, variant, backend.tuning)?);
        Ok(backend)
    }

    /// The adapter.
    #[must_use]
    pub fn info(&self) -> &GpuInfo {
        &self.info
    }

    /// The shader variant in use.
    #[must_use]
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The dispatch geometry in use.
    #[must_use]
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    fn cache_key(&self) -> String {
        format!(
            "{} | {} | {} | {}",
            self.info.name,
            self.info.backend,
            self.info.driver,
            self.variant.name()
        )
    }

    fn context(&mut self) -> Result<&Context, BackendError> {
        if self.context.is_none() {
            self.context = Some(Context::new(&self.adapter, self.variant, self.tuning)?);
        }
        self.context.as_ref().ok_or(BackendError::NoJob)
    }

    /// Measures workgroup sizes and dispatch sizes on a synthetic job (about a second on a
    /// real GPU) and returns the fastest.
    fn autotune(&mut self) -> Result<Tuning, BackendError> {
        let layout = ixi_kernels::pow::NonceLayout::new(vec![0x5a; 32], 8)
            .map_err(|e| device_error(e.to_string()))?;
        let job = PreparedJob::new(&[0x42; 178], &layout);
        // A target nothing meets: only the kernel's own speed is measured.
        let target = Target::from_bound(&[0; 64]);
        let mut best = (0.0f64, Tuning::default());
        for workgroup_size in [64u32, 128, 256] {
            let context = Context::new(
                &self.adapter,
                self.variant,
                Tuning {
                    workgroup_size,
                    dispatch: 0,
                },
            )?;
            let mut dispatch = 1u32 << 14;
            loop {
                let params = SearchParams::new(&job, 0, dispatch, &target, HIT_CAPACITY)
                    .map_err(|e| device_error(e.to_string()))?;
                let tuning = Tuning {
                    workgroup_size,
                    dispatch,
                };
                let started = Instant::now();
                let submission = context.submit(0, &params, u64::from(dispatch), tuning);
                context.collect(&InFlight {
                    slot: 0,
                    base: 0,
                    count: u64::from(dispatch),
                    submission,
                })?;
                let took = started.elapsed();
                let rate = f64::from(dispatch) / took.as_secs_f64().max(1e-9);
                if rate > best.0 {
                    best = (rate, tuning);
                }
                // Large enough that launch overhead is amortized, small enough for quick job
                // switches and the watchdog.
                if took >= Duration::from_millis(40) || dispatch >= 1 << 24 {
                    break;
                }
                dispatch <<= 1;
            }
        }
        Ok(best.1)
    }

    /// Most hashes one [`GpuBackend::hash_each`] call returns.
    pub const HASH_EACH_MAX: u32 = 256;

    /// The full hash of counters `base .. base + n` of the loaded job (`n` at most
    /// [`GpuBackend::HASH_EACH_MAX`]), computed by the shader's `hash_each` entry point
    /// (exactness tests and diagnostics).
    ///
    /// # Errors
    /// [`BackendError::NoJob`], or a device error.
    pub fn hash_each(&mut self, base: u64, n: u32) -> Result<Vec<[u8; 64]>, BackendError> {
        let n = n.min(Self::HASH_EACH_MAX);
        let job = self.job.clone().ok_or(BackendError::NoJob)?;
        let params = SearchParams::new(&job, base, n, &Target::from_bound(&[0; 64]), 0)
            .map_err(device_error)?;
        let variant = self.variant;
        self.context()?;
        let context = self.context.as_mut().ok_or(BackendError::NoJob)?;
        let debug = context
            .debug
            .get_or_insert_with(|| Debug::new(&context.device, variant));
        let device = &context.device;
        context
            .queue
            .write_buffer(&debug.uniform, 0, &params.to_bytes());
        let mut encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(&debug.out, 0, None);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&debug.pipeline);
            pass.set_bind_group(0, &debug.bind_group, &[]);
            pass.dispatch_workgroups(n.div_ceil(wgsl::DEFAULT_WORKGROUP_SIZE), 1, 1);
        }
        encoder.copy_buffer_to_buffer(&debug.out, 0, &debug.readback, 0, None);
        context.queue.submit([encoder.finish()]);
        let words = read_buffer(device, &debug.readback)?;
        context.check()?;
        Ok(words
            .chunks_exact(16)
            .take(usize::try_from(n).unwrap_or(0))
            .map(|c| {
                let mut h = [0u8; 64];
                for (dst, w) in h.chunks_exact_mut(4).zip(c) {
                    dst.copy_from_slice(&w.to_le_bytes());
                }
                h
            })
            .collect())
    }

    /// Reads one finished dispatch: verifies each candidate on the CPU and pushes the hits.
    fn finish(
        &mut self,
        f: &InFlight,
        target: &Target,
        hits: &mut Vec<Hit>,
    ) -> Result<(), BackendError> {
        let result = self.context()?.collect(f);
        let (count, counters) = match result {
            Ok(r) => r,
            Err(e) => {
                // Rebuilt on the next job load.
                self.context = None;
                return Err(e);
            }
        };
        let job = self.job.as_ref().ok_or(BackendError::NoJob)?;
        if count > HIT_CAPACITY {
            // More candidates than slots: the CPU searches this dispatch again, exactly.
            let _ = SearchKernel::Scalar.search(job, target, f.base, f.count, hits);
            return Ok(());
        }
        let mut wrong = None;
        let mut counters = counters;
        // Hits in counter order, as the CPU backends find them (the atomic order is arbitrary).
        counters.sort_unstable();
        for offset in counters {
            let counter = f.base + u64::from(offset);
            let hash = job.hash_of(counter);
            let mut top = [0u8; 8];
            top.copy_from_slice(&hash[56..]);
            if u64::from(offset) >= f.count || u64::from_le_bytes(top) > target.most_significant() {
                wrong.get_or_insert(format!(
                    "counter {counter} (offset {offset} of {}, {count} candidates): top word {:#018x} above the target's {:#018x}",
                    f.count,
                    u64::from_le_bytes(top),
                    target.most_significant()
                ));
            } else if target.accepts(&hash) {
                hits.push(Hit { counter, hash });
            }
        }
        match wrong {
            Some(what) => Err(device_error(format!(
                "wrong result from the GPU, discarded: {what}"
            ))),
            None => Ok(()),
        }
    }
}

impl SearchBackend for GpuBackend {
    fn name(&self) -> &'static str {
        "wgpu"
    }

    fn preferred_batch(&self) -> u64 {
        // Eight dispatches per batch: the pipeline stays full within a call.
        8 * u64::from(self.tuning.dispatch)
    }

    fn load_job(&mut self, job: &Job) -> Result<(), BackendError> {
        let prepared = PreparedJob::new(job.prefix(), job.layout());
        if prepared.device_view(0).is_none() {
            return Err(device_error(wgsl::GpuLayoutError::NoFastBytes));
        }
        self.context()?;
        self.job = Some(prepared);
        Ok(())
    }

    fn search(
        &mut self,
        range: NonceRange,
        target: &Target,
        hits: &mut Vec<Hit>,
    ) -> Result<u64, BackendError> {
        let job = self.job.clone().ok_or(BackendError::NoJob)?;
        let end = range.start.saturating_add(range.count).min(job_end(&job));
        let segment = job.segment_len();
        let mut next = range.start;
        let mut pending: Option<InFlight> = None;
        let mut slot = 0;
        let tuning = self.tuning;
        let mut first_error = None;
        while next < end || pending.is_some() {
            let mut launched = None;
            if next < end {
                // A dispatch stays inside one segment: the midstate is per segment.
                let segment_end = if segment == u64::MAX {
                    u64::MAX
                } else {
                    (next / segment + 1).saturating_mul(segment)
                };
                let count = (end - next)
                    .min(u64::from(tuning.dispatch))
                    .min(segment_end - next);
                // At most `tuning.dispatch`, a u32.
                let invocations = u32::try_from(count).unwrap_or(tuning.dispatch);
                let params = SearchParams::new(&job, next, invocations, target, HIT_CAPACITY)
                    .map_err(device_error)?;
                let submission = self.context()?.submit(slot, &params, count, tuning);
                launched = Some(InFlight {
                    slot,
                    base: next,
                    count,
                    submission,
                });
                slot ^= 1;
                next += count;
            }
            if let Some(done) = pending.take()
                && let Err(e) = self.finish(&done, target, hits)
            {
                first_error.get_or_insert(e);
                if self.context.is_none() {
                    break;
                }
            }
            pending = launched;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(next - range.start),
        }
    }
}

/// One past the job's last counter.
fn job_end(job: &PreparedJob) -> u64 {
    job.max_counter().saturating_add(1)
}

/// The tuning cache: one JSON file in the miner's cache directory, never in a user's config.
mod tuning_cache {
    use super::{PathBuf, Tuning};

    /// `$IXI_MINER_CACHE_DIR`, else `$XDG_CACHE_HOME/ixi-miner`, else `~/.cache/ixi-miner`.
    pub(super) fn dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("IXI_MINER_CACHE_DIR") {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(d).join("ixi-miner"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("ixi-miner"))
    }

    fn read() -> serde_json::Map<String, serde_json::Value> {
        dir()
            .and_then(|d| std::fs::read_to_string(d.join("gpu-tuning.json")).ok())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default()
    }

    pub(super) fn load(key: &str) -> Option<Tuning> {
        let entry = read().get(key)?.clone();
        let field = |name| u32::try_from(entry.get(name)?.as_u64()?).ok();
        Some(Tuning {
            workgroup_size: field("workgroupSize")?,
            dispatch: field("dispatch")?,
        })
    }

    pub(super) fn store(key: &str, tuning: Tuning) {
        let Some(dir) = dir() else { return };
        let mut all = read();
        all.insert(
            key.to_owned(),
            serde_json::json!({"workgroupSize": tuning.workgroup_size, "dispatch": tuning.dispatch}),
        );
        // A cache: failing to write it only costs a new measurement next time.
        if std::fs::create_dir_all(&dir).is_ok() {
            let _ = std::fs::write(
                dir.join("gpu-tuning.json"),
                serde_json::Value::Object(all).to_string(),
            );
        }
    }
}
