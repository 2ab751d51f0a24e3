//! What the GPU search builds once per device and keeps: the pipeline, two dispatch slots
//! (uniform, hit and readback buffers with their bind groups), and, on first use, the
//! `hash_each` pipeline the exactness tests read whole hashes from.

use ixi_gpu::{Device, GpuError};
use ixi_kernels::wgsl::{SearchParams, Variant};

use super::{HIT_CAPACITY, WATCHDOG};

/// Most hashes one `hash_each` dispatch returns.
pub(super) const HASH_EACH_MAX: u32 = 256;

/// One dispatch slot: its uniform, hit and readback buffers.
struct Slot {
    uniform: wgpu::Buffer,
    hits: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// A dispatch in flight.
pub(super) struct InFlight {
    pub(super) slot: usize,
    pub(super) base: u64,
    pub(super) count: u64,
    submission: wgpu::SubmissionIndex,
}

/// The `hash_each` pipeline and its buffers.
struct HashEach {
    pipeline: wgpu::ComputePipeline,
    uniform: wgpu::Buffer,
    out: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// Everything built once per device.
pub(super) struct Context {
    device: Device,
    variant: Variant,
    workgroup_size: u32,
    pipeline: wgpu::ComputePipeline,
    slots: [Slot; 2],
    hash_each: Option<HashEach>,
}

impl Context {
    /// Opens the device and builds the search pipeline for `workgroup_size`.
    pub(super) fn new(
        adapter: &wgpu::Adapter,
        variant: Variant,
        workgroup_size: u32,
    ) -> Result<Self, GpuError> {
        let features = ixi_gpu::int64_features(variant == Variant::U64);
        let device = Device::open(adapter, features, "ixi-miner")?;
        let pipeline =
            device.compute_pipeline("ixi search", variant.source(), "search", workgroup_size)?;
        let layout = pipeline.get_bind_group_layout(0);
        let hit_bytes = 4 * (1 + u64::from(HIT_CAPACITY));
        let slot = |i: usize| {
            let uniform = device.buffer(
                &format!("params {i}"),
                SearchParams::BYTES,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let hits = device.buffer(
                &format!("hits {i}"),
                hit_bytes,
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            );
            let readback = device.buffer(
                &format!("readback {i}"),
                hit_bytes,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let bind_group = device.bind_group(&layout, &[(0, &uniform), (1, &hits)]);
            Slot {
                uniform,
                hits,
                readback,
                bind_group,
            }
        };
        let slots = [slot(0), slot(1)];
        Ok(Self {
            device,
            variant,
            workgroup_size,
            pipeline,
            slots,
            hash_each: None,
        })
    }

    /// Queues one dispatch of `count` invocations into `slot`.
    pub(super) fn submit(
        &self,
        slot: usize,
        params: &SearchParams,
        base: u64,
        count: u64,
    ) -> InFlight {
        let s = &self.slots[slot];
        let queue = self.device.queue();
        queue.write_buffer(&s.uniform, 0, params.as_bytes());
        let mut encoder = self
            .device
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(&s.hits, 0, Some(4));
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &s.bind_group, &[]);
            let (x, y) = ixi_gpu::grid(count.div_ceil(u64::from(self.workgroup_size)));
            pass.dispatch_workgroups(x, y, 1);
        }
        encoder.copy_buffer_to_buffer(&s.hits, 0, &s.readback, 0, None);
        InFlight {
            slot,
            base,
            count,
            submission: queue.submit([encoder.finish()]),
        }
    }

    /// Waits for a dispatch; returns its candidate count and the stored counter offsets.
    pub(super) fn collect(&self, f: &InFlight) -> Result<(u32, Vec<u32>), GpuError> {
        // Waits for this dispatch only: the other slot's keeps the GPU busy meanwhile.
        let words = self.device.read_words_after(
            &self.slots[f.slot].readback,
            f.submission.clone(),
            1 + HIT_CAPACITY as usize,
            WATCHDOG,
        )?;
        let count = words.first().copied().unwrap_or(0);
        let stored = usize::try_from(count.min(HIT_CAPACITY)).unwrap_or(0);
        Ok((count, words.get(1..=stored).unwrap_or_default().to_vec()))
    }

    /// The whole hash of `n` counters from the params' base (`n <= HASH_EACH_MAX`), 16 words
    /// each, through the shader's `hash_each` entry point.
    pub(super) fn hash_each(
        &mut self,
        params: &SearchParams,
        n: u32,
    ) -> Result<Vec<u32>, GpuError> {
        let built = match self.hash_each.take() {
            Some(h) => h,
            None => build_hash_each(&self.device, self.variant, self.workgroup_size)?,
        };
        let h = self.hash_each.insert(built);
        let device = &self.device;
        device
            .queue()
            .write_buffer(&h.uniform, 0, params.as_bytes());
        let mut encoder = device
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        encoder.clear_buffer(&h.out, 0, None);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&h.pipeline);
            pass.set_bind_group(0, &h.bind_group, &[]);
            pass.dispatch_workgroups(n.div_ceil(self.workgroup_size), 1, 1);
        }
        encoder.copy_buffer_to_buffer(&h.out, 0, &h.readback, 0, None);
        device.queue().submit([encoder.finish()]);
        let words = device.read_words(&h.readback, WATCHDOG)?;
        device.check()?;
        Ok(words)
    }
}

fn build_hash_each(
    device: &Device,
    variant: Variant,
    workgroup_size: u32,
) -> Result<HashEach, GpuError> {
    let pipeline = device.compute_pipeline(
        "ixi hash_each",
        variant.source(),
        "hash_each",
        workgroup_size,
    )?;
    let bytes = u64::from(HASH_EACH_MAX) * 64;
    let uniform = device.buffer(
        "hash_each params",
        SearchParams::BYTES,
        wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
    );
    let out = device.buffer(
        "hash_each out",
        bytes,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
    );
    let readback = device.buffer(
        "hash_each readback",
        bytes,
        wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
    );
    let bind_group = device.bind_group(
        &pipeline.get_bind_group_layout(0),
        &[(0, &uniform), (2, &out)],
    );
    Ok(HashEach {
        pipeline,
        uniform,
        out,
        readback,
        bind_group,
    })
}
