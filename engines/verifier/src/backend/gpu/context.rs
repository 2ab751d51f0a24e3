//! What the backend builds once per device and keeps: the `verify` pipeline, the key table's
//! device copy (grown as keys arrive), and two dispatch slots, each with its uniform, item,
//! signature, verdict and readback buffers and its bind group.

use std::time::Instant;

use std::time::Duration;

use ixi_gpu::{Device, GpuError};
use ixi_kernels::rsa_wgsl::{
    DEFAULT_WORKGROUP_SIZE, GpuItem, GpuKey, GpuParams, MODULUS_WORDS, Variant, Verdict,
};

use super::keys::KeyTable;
use super::pace::MAX_DISPATCH;
use super::{GpuFault, WATCHDOG};

/// Longest the warm-up dispatch may take: drivers may compile the shader on its first
/// dispatch (lavapipe does, for seconds), which the batches' watchdog must not count.
const WARM_UP_WATCHDOG: Duration = Duration::from_secs(180);
/// Keys the device table starts with; it doubles as keys arrive, up to the table's capacity.
const INITIAL_KEYS: usize = 64;
const KEY_BYTES: u64 = size_of::<GpuKey>() as u64;
const ITEM_BYTES: u64 = size_of::<GpuItem>() as u64;

/// One dispatch slot: its buffers and the bind group over them and the key table.
struct Slot {
    params: wgpu::Buffer,
    items: wgpu::Buffer,
    signatures: wgpu::Buffer,
    verdicts: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// One dispatch's inputs, packed on the host.
pub(super) struct Prepared {
    pub(super) params: GpuParams,
    pub(super) items: Vec<GpuItem>,
    pub(super) signatures: Vec<u32>,
}

/// A dispatch in flight.
pub(super) struct InFlight {
    slot: usize,
    count: usize,
    submission: wgpu::SubmissionIndex,
    pub(super) submitted: Instant,
}

/// Everything built once per device.
pub(super) struct Context {
    device: Device,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
    keys: wgpu::Buffer,
    key_capacity: usize,
    /// Keys of the table's generation `key_generation` written to the device so far.
    keys_uploaded: usize,
    key_generation: Option<u64>,
    slots: [Slot; 2],
}

impl Context {
    /// Opens the adapter with exactly the features `variant` needs, builds the pipeline and
    /// buffers, and runs the warm-up dispatch.
    pub(super) fn new(adapter: &wgpu::Adapter, variant: Variant) -> Result<Self, GpuFault> {
        let features = ixi_gpu::int64_features(variant.needs_int64());
        let device = Device::open(adapter, features, "ixi-verifier")?;
        let pipeline = device.compute_pipeline(
            "ixi rsa verify",
            variant.source(),
            "verify",
            DEFAULT_WORKGROUP_SIZE,
        )?;
        let layout = pipeline.get_bind_group_layout(0);
        let keys = key_buffer(&device, INITIAL_KEYS);
        let slot = |i: usize| {
            let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
            let max = MAX_DISPATCH as u64;
            let params = device.buffer(
                &format!("params {i}"),
                size_of::<GpuParams>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            );
            let items = device.buffer(&format!("items {i}"), max * ITEM_BYTES, storage);
            let signatures = device.buffer(
                &format!("signatures {i}"),
                max * 4 * MODULUS_WORDS as u64,
                storage,
            );
            let verdicts = device.buffer(
                &format!("verdicts {i}"),
                max * 4,
                storage | wgpu::BufferUsages::COPY_SRC,
            );
            let readback = device.buffer(
                &format!("readback {i}"),
                max * 4,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            );
            let bind_group = bind(
                &device,
                &layout,
                &params,
                &keys,
                &items,
                &signatures,
                &verdicts,
            );
            Slot {
                params,
                items,
                signatures,
                verdicts,
                readback,
                bind_group,
            }
        };
        let slots = [slot(0), slot(1)];
        // Buffer creation is validated too: an adapter too small for them is a fault here.
        device.check()?;
        let context = Self {
            device,
            layout,
            pipeline,
            keys,
            key_capacity: INITIAL_KEYS,
            keys_uploaded: 0,
            key_generation: None,
            slots,
        };
        context.warm_up(variant)?;
        Ok(context)
    }

    /// One item against the empty key table: the shader is compiled (where the driver does
    /// that on first use) outside any batch's watchdog, and the device shows that it runs the
    /// kernel: the only right answer is the key-mismatch verdict.
    fn warm_up(&self, variant: Variant) -> Result<(), GpuFault> {
        let threads = variant.threads_for_bits(2048);
        let limbs = threads * u32::try_from(variant.slice_limbs()).unwrap_or(u32::MAX);
        let prepared = Prepared {
            params: GpuParams {
                first: 0,
                count: 1,
                threads,
                limbs,
                exponent_lo: 65_537,
                exponent_hi: 0,
                signature_words: 64,
                signature_offset: 0,
            },
            items: vec![GpuItem {
                key: 0,
                digest: [0; 16],
            }],
            signatures: vec![1; 64],
        };
        let flight = self.submit(0, &prepared, true);
        let words = self.device.read_words_after(
            &self.slots[0].readback,
            flight.submission,
            1,
            WARM_UP_WATCHDOG,
        )?;
        match words.as_slice() {
            [word] if Verdict::from_word(*word) == Some(Verdict::KeyMismatch) => Ok(()),
            _ => Err(GpuFault::WarmUp {
                word: words.first().copied().unwrap_or(0),
            }),
        }
    }

    /// Brings the device's key table up to `table`: a new generation is uploaded from index 0,
    /// a table grown past the buffer gets a larger buffer (and new bind groups), new keys are
    /// appended. Dispatches in flight keep the buffer they were bound to.
    pub(super) fn sync_keys(&mut self, table: &KeyTable) {
        if self.key_generation != Some(table.generation()) {
            self.key_generation = Some(table.generation());
            self.keys_uploaded = 0;
        }
        let keys = table.keys();
        if keys.len() > self.key_capacity {
            self.key_capacity = keys.len().next_power_of_two().min(table.capacity());
            self.keys = key_buffer(&self.device, self.key_capacity);
            for s in &mut self.slots {
                s.bind_group = bind(
                    &self.device,
                    &self.layout,
                    &s.params,
                    &self.keys,
                    &s.items,
                    &s.signatures,
                    &s.verdicts,
                );
            }
            self.keys_uploaded = 0;
        }
        if keys.len() > self.keys_uploaded {
            self.device.queue().write_buffer(
                &self.keys,
                self.keys_uploaded as u64 * KEY_BYTES,
                bytemuck::cast_slice(&keys[self.keys_uploaded..]),
            );
            self.keys_uploaded = keys.len();
        }
    }

    /// Queues one dispatch into `slot`: its inputs, the verdict range cleared (a stale word
    /// would pass for an answer), the kernel (left out when `compute` is false: the fault
    /// tests' device that does nothing), and the copy to the readback buffer.
    pub(super) fn submit(&self, slot: usize, prepared: &Prepared, compute: bool) -> InFlight {
        let s = &self.slots[slot];
        let queue = self.device.queue();
        let count = prepared.items.len();
        queue.write_buffer(&s.params, 0, bytemuck::bytes_of(&prepared.params));
        queue.write_buffer(&s.items, 0, bytemuck::cast_slice(&prepared.items));
        queue.write_buffer(&s.signatures, 0, bytemuck::cast_slice(&prepared.signatures));
        let mut encoder = self
            .device
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
        let bytes = 4 * count as u64;
        encoder.clear_buffer(&s.verdicts, 0, Some(bytes));
        if compute {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &s.bind_group, &[]);
            let per_group = u64::from(prepared.params.items_per_workgroup(DEFAULT_WORKGROUP_SIZE));
            let (x, y) = ixi_gpu::grid((count as u64).div_ceil(per_group.max(1)));
            pass.dispatch_workgroups(x, y, 1);
        }
        encoder.copy_buffer_to_buffer(&s.verdicts, 0, &s.readback, 0, Some(bytes));
        InFlight {
            slot,
            count,
            submitted: Instant::now(),
            submission: queue.submit([encoder.finish()]),
        }
    }

    /// Waits for a dispatch (only that one) and returns its verdict words.
    pub(super) fn collect(&self, f: &InFlight) -> Result<Vec<u32>, GpuError> {
        self.device.read_words_after(
            &self.slots[f.slot].readback,
            f.submission.clone(),
            f.count,
            WATCHDOG,
        )
    }

    /// Destroys the device, as a driver reset would: the fault tests' lost device.
    pub(super) fn lose_device(&self) {
        self.device.device().destroy();
    }
}

fn key_buffer(device: &Device, keys: usize) -> wgpu::Buffer {
    device.buffer(
        "keys",
        keys as u64 * KEY_BYTES,
        wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
    )
}

/// The bind group of the shader's five bindings.
fn bind(
    device: &Device,
    layout: &wgpu::BindGroupLayout,
    params: &wgpu::Buffer,
    keys: &wgpu::Buffer,
    items: &wgpu::Buffer,
    signatures: &wgpu::Buffer,
    verdicts: &wgpu::Buffer,
) -> wgpu::BindGroup {
    device.bind_group(
        layout,
        &[
            (0, params),
            (1, keys),
            (2, items),
            (3, signatures),
            (4, verdicts),
        ],
    )
}
