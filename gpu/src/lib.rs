//! `ixi-gpu`: the wgpu plumbing every GPU backend shares (the search's, the verifier's).
//!
//! - [`discover`]: every adapter wgpu finds on Vulkan, Metal or DX12 (GL is not built in, so a
//!   machine without a Vulkan driver never silently falls back to it), as [`GpuInfo`].
//! - [`Device`]: a device opened once and kept, whose validation errors, uncaptured errors and
//!   loss become [`GpuError`]s instead of wgpu's default panics; pipelines built under an error
//!   scope; buffers; readback with a watchdog, so a stalled device is an error, not a hang.
//!
//! What a backend dispatches, and how it checks the results, lives with the backend.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Duration;

/// Workgroups per row of a 2-D dispatch: the per-dimension limit is 65535, so larger
/// dispatches are laid out as rows of this many.
pub const MAX_GROUPS_X: u32 = 32_768;

/// The `(x, y)` workgroup grid for `workgroups` workgroups: one row up to [`MAX_GROUPS_X`],
/// rows of it above (a shader numbers its workgroup `x + y · num_workgroups.x` and ignores
/// the excess of the last row).
#[must_use]
pub fn grid(workgroups: u64) -> (u32, u32) {
    let x = u32::try_from(workgroups.min(u64::from(MAX_GROUPS_X))).unwrap_or(MAX_GROUPS_X);
    let y = u32::try_from(workgroups.div_ceil(u64::from(x.max(1)))).unwrap_or(u32::MAX);
    (x, y.max(1))
}

/// Why no GPU backend can run: what `devices` and a forced GPU backend say.
pub const NO_ADAPTER: &str = "no GPU adapter found (a Vulkan, Metal or DX12 driver is needed; on Linux without a GPU, Mesa's lavapipe: mesa-vulkan-drivers)";

/// One adapter as `devices` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuInfo {
    /// Index in discovery order.
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

impl GpuInfo {
    fn of(index: usize, adapter: &wgpu::Adapter) -> Self {
        let i = adapter.get_info();
        Self {
            index,
            name: i.name,
            backend: format!("{:?}", i.backend),
            device_type: format!("{:?}", i.device_type),
            driver: format!("{} {}", i.driver, i.driver_info).trim().to_owned(),
            int64: adapter.features().contains(wgpu::Features::SHADER_INT64),
            software: i.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

/// A GPU failure. Every one is recoverable by the caller: a backend reports it and rebuilds
/// its device, a batch is recomputed on the CPU.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter at this index.
    #[error("no GPU adapter {0} (a Vulkan, Metal or DX12 driver is needed)")]
    NoAdapter(usize),
    /// The adapter would not open a device.
    #[error("cannot open the GPU device: {0}")]
    RequestDevice(#[from] wgpu::RequestDeviceError),
    /// A shader or pipeline was rejected.
    #[error("GPU pipeline {label}: {source}")]
    Pipeline {
        /// The pipeline's label.
        label: &'static str,
        /// wgpu's validation error.
        source: wgpu::Error,
    },
    /// The device reported an error it had no scope for.
    #[error("GPU device error: {0}")]
    Device(wgpu::Error),
    /// The device was lost (driver reset, removed).
    #[error("GPU device lost")]
    Lost,
    /// Work did not finish within the watchdog's time.
    #[error("GPU stalled or lost: {0}")]
    Stalled(#[from] wgpu::PollError),
    /// A readback buffer could not be mapped.
    #[error("GPU readback failed: {0}")]
    Map(#[from] wgpu::BufferAsyncError),
    /// A mapped buffer's range could not be read.
    #[error("GPU readback range: {0}")]
    MapRange(#[from] wgpu::MapRangeError),
    /// A readback's completion never arrived.
    #[error("GPU readback did not complete within {0:?}")]
    ReadbackTimeout(Duration),
}

fn instance() -> wgpu::Instance {
    wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    })
}

fn adapters() -> Vec<wgpu::Adapter> {
    pollster::block_on(instance().enumerate_adapters(wgpu::Backends::all()))
}

/// Why no GPU backend can run here ([`NO_ADAPTER`]), or `None` when wgpu finds an adapter.
#[must_use]
pub fn no_adapter_reason() -> Option<String> {
    discover().is_empty().then(|| NO_ADAPTER.to_owned())
}

/// Every adapter wgpu finds.
#[must_use]
pub fn discover() -> Vec<GpuInfo> {
    adapters()
        .iter()
        .enumerate()
        .map(|(i, a)| GpuInfo::of(i, a))
        .collect()
}

/// Adapter `index` (in [`discover`] order).
///
/// # Errors
/// [`GpuError::NoAdapter`].
pub fn adapter(index: usize) -> Result<(wgpu::Adapter, GpuInfo), GpuError> {
    let adapter = adapters()
        .into_iter()
        .nth(index)
        .ok_or(GpuError::NoAdapter(index))?;
    let info = GpuInfo::of(index, &adapter);
    Ok((adapter, info))
}

/// A device and its queue, with its faults collected instead of panicking.
pub struct Device {
    device: wgpu::Device,
    queue: wgpu::Queue,
    lost: Arc<AtomicBool>,
    /// The first error since the last [`Device::check`].
    error: Arc<Mutex<Option<wgpu::Error>>>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("lost", &self.lost.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The device features a shader needs: `SHADER_INT64` where it uses 64-bit integers, else
/// none (a device is opened with exactly what its shader needs).
#[must_use]
pub fn int64_features(int64: bool) -> wgpu::Features {
    if int64 {
        wgpu::Features::SHADER_INT64
    } else {
        wgpu::Features::empty()
    }
}

impl Device {
    /// Opens `adapter` with `features` and the adapter's own limits.
    ///
    /// # Errors
    /// [`GpuError::RequestDevice`].
    pub fn open(
        adapter: &wgpu::Adapter,
        features: wgpu::Features,
        label: &'static str,
    ) -> Result<Self, GpuError> {
        let (device, queue) =
            pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
                label: Some(label),
                required_features: features,
                required_limits: adapter.limits(),
                ..Default::default()
            }))?;
        // wgpu's default handler panics; errors become faults instead.
        let error = Arc::new(Mutex::new(None));
        let sink = Arc::clone(&error);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_or_insert(e);
        }));
        let lost = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |_, _| flag.store(true, Ordering::Relaxed));
        Ok(Self {
            device,
            queue,
            lost,
            error,
        })
    }

    /// The wgpu device.
    #[must_use]
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The queue.
    #[must_use]
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// The device's first fault since the last check, if any.
    ///
    /// # Errors
    /// [`GpuError::Lost`] or [`GpuError::Device`].
    pub fn check(&self) -> Result<(), GpuError> {
        if self.lost.load(Ordering::Relaxed) {
            return Err(GpuError::Lost);
        }
        let first = self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        first.map_or(Ok(()), |e| Err(GpuError::Device(e)))
    }

    /// A compute pipeline from WGSL `source` and its entry point, with `workgroup_size` for the
    /// shader's `WORKGROUP_SIZE` override, built under a validation scope so that a rejected
    /// shader is an error.
    ///
    /// # Errors
    /// [`GpuError::Pipeline`].
    pub fn compute_pipeline(
        &self,
        label: &'static str,
        source: &str,
        entry_point: &str,
        workgroup_size: u32,
    ) -> Result<wgpu::ComputePipeline, GpuError> {
        let constants = [("WORKGROUP_SIZE", f64::from(workgroup_size))];
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: None,
                module: &module,
                entry_point: Some(entry_point),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants: &constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
        match pollster::block_on(scope.pop()) {
            Some(source) => Err(GpuError::Pipeline { label, source }),
            None => Ok(pipeline),
        }
    }

    /// A buffer of `size` bytes.
    #[must_use]
    pub fn buffer(&self, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Waits until `submission` (or everything submitted) is done, at most `watchdog`.
    ///
    /// # Errors
    /// [`GpuError::Stalled`] past the watchdog, or the device's fault.
    pub fn wait(
        &self,
        submission: Option<wgpu::SubmissionIndex>,
        watchdog: Duration,
    ) -> Result<(), GpuError> {
        self.device.poll(wgpu::PollType::Wait {
            submission_index: submission,
            timeout: Some(watchdog),
        })?;
        self.check()
    }

    /// A bind group of `layout` with each `(binding, buffer)` bound whole.
    #[must_use]
    pub fn bind_group(
        &self,
        layout: &wgpu::BindGroupLayout,
        entries: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = entries
            .iter()
            .map(|&(binding, buffer)| wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout,
            entries: &entries,
        })
    }

    /// The first `words` little-endian words of a readback buffer whose copy went in
    /// `submission`. Only that submission is waited for, so a dispatch submitted after it keeps
    /// running: this is what lets a backend keep two dispatches in flight.
    ///
    /// # Errors
    /// [`GpuError::Stalled`] past the watchdog, [`GpuError::Map`], [`GpuError::MapRange`],
    /// [`GpuError::ReadbackTimeout`], or the device's fault.
    pub fn read_words_after(
        &self,
        buffer: &wgpu::Buffer,
        submission: wgpu::SubmissionIndex,
        words: usize,
        watchdog: Duration,
    ) -> Result<Vec<u32>, GpuError> {
        // At most the buffer's size, a u64.
        let bytes = (4 * words as u64).min(buffer.size());
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let (tx, rx) = mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, ..bytes, move |r| {
            // The receiver waits below; if it gave up, nobody needs the result.
            let _ = tx.send(r);
        });
        // The buffer's last use is `submission`: its mapping resolves when that one is done.
        self.wait(Some(submission), watchdog)?;
        rx.recv_timeout(watchdog)
            .map_err(|_| GpuError::ReadbackTimeout(watchdog))??;
        let words = {
            let view = buffer.get_mapped_range(..bytes)?;
            view.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        buffer.unmap();
        Ok(words)
    }

    /// Maps a readback buffer whose copy was submitted, and returns its little-endian words.
    ///
    /// # Errors
    /// [`GpuError::Stalled`], [`GpuError::Map`], [`GpuError::MapRange`] or
    /// [`GpuError::ReadbackTimeout`].
    pub fn read_words(
        &self,
        buffer: &wgpu::Buffer,
        watchdog: Duration,
    ) -> Result<Vec<u32>, GpuError> {
        let (tx, rx) = mpsc::channel();
        buffer.map_async(wgpu::MapMode::Read, .., move |r| {
            // The receiver waits below; if it gave up, nobody needs the result.
            let _ = tx.send(r);
        });
        self.wait(None, watchdog)?;
        rx.recv_timeout(watchdog)
            .map_err(|_| GpuError::ReadbackTimeout(watchdog))??;
        let words = {
            let view = buffer.get_mapped_range(..)?;
            view.chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect()
        };
        buffer.unmap();
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_every_workgroup_within_the_dimension_limit() {
        assert_eq!(grid(0), (0, 1));
        assert_eq!(grid(1), (1, 1));
        assert_eq!(grid(u64::from(MAX_GROUPS_X)), (MAX_GROUPS_X, 1));
        assert_eq!(grid(u64::from(MAX_GROUPS_X) + 1), (MAX_GROUPS_X, 2));
        for groups in [65_535u64, 65_536, 1 << 24, 3 * u64::from(MAX_GROUPS_X) - 1] {
            let (x, y) = grid(groups);
            assert!(x <= 65_535 && y <= 65_535);
            assert!(u64::from(x) * u64::from(y) >= groups);
            assert!(
                u64::from(x) * u64::from(y - 1) < groups,
                "{groups}: one row too many"
            );
        }
    }
}
