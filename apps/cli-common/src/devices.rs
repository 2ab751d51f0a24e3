//! The part of `devices` both worker binaries print: CPU features, the backends, and the GPU
//! adapters wgpu finds (with the `gpu` feature; a build without it lists none).

use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::{BackendChoice, BackendKind, SelectError};
use serde_json::{Map, Value, json};

/// `devices`' options, the same for both worker binaries.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The CPU backends of an engine, as `devices` shows them.
#[derive(Debug, Clone)]
pub struct BackendReport<K> {
    features: CpuFeatures,
    kinds: Vec<K>,
    auto: K,
    auto_reason: Option<String>,
}

impl<K: BackendKind> BackendReport<K> {
    /// The report for `kinds` on this CPU, `auto` being the kind `--backend auto` runs.
    #[must_use]
    pub fn new(features: CpuFeatures, kinds: &[K], auto: K) -> Self {
        Self {
            features,
            kinds: kinds.to_vec(),
            auto,
            auto_reason: None,
        }
    }

    /// Prints `devices` for this machine: `kinds` with the one `auto` picks, and the GPU
    /// adapters, which `gpu` (the engine's GPU kind) runs on as `usage` says.
    ///
    /// # Errors
    /// No kind of `auto`'s runs on this CPU.
    pub fn print_for_this_machine(
        kinds: &[K],
        gpu: K,
        json: bool,
        usage: &str,
    ) -> Result<(), SelectError<K>> {
        let features = CpuFeatures::detect();
        let auto = BackendChoice::Auto.resolve(&features)?;
        Self::new(features, kinds, auto).print(
            &GpuReport::discover(),
            json,
            usage,
            gpu.unsupported_reason(&features),
        );
        Ok(())
    }

    /// The report with why `auto` runs what it runs (measured rates, or where they came from).
    #[must_use]
    pub fn with_auto_reason(mut self, reason: String) -> Self {
        self.auto_reason = Some(reason);
        self
    }

    /// Threads this machine runs at once.
    #[must_use]
    pub fn threads() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    /// The JSON fields: `cpuFeatures`, `threads`, `backends` (each with `name`, `kind`,
    /// `available`, `reason`, `selectedByAuto`), `auto` and, where known, `autoReason`.
    #[must_use]
    pub fn json(&self) -> Map<String, Value> {
        let backends: Vec<_> = self
            .kinds
            .iter()
            .map(|&k| {
                let reason = k.unsupported_reason(&self.features);
                json!({
                    "name": k.name(),
                    "kind": if k.is_gpu() { "gpu" } else { "cpu" },
                    "available": reason.is_none(),
                    "reason": reason,
                    "selectedByAuto": k == self.auto,
                })
            })
            .collect();
        let cpu: Map<_, _> = self
            .features
            .list()
            .iter()
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect();
        let mut out = Map::new();
        out.insert("cpuFeatures".into(), Value::Object(cpu));
        out.insert("threads".into(), json!(Self::threads()));
        out.insert("backends".into(), Value::Array(backends));
        out.insert("auto".into(), json!(self.auto.name()));
        if let Some(reason) = &self.auto_reason {
            out.insert("autoReason".into(), json!(reason));
        }
        out
    }

    /// Prints `devices`' answer: one JSON object (this report's fields and `gpus`), or the text
    /// lines of both reports (`usage` says how the command uses GPU adapters, `why_none` why
    /// there are none).
    pub fn print(&self, gpus: &GpuReport, json: bool, usage: &str, why_none: Option<String>) {
        if json {
            let mut out = self.json();
            out.insert("gpus".into(), gpus.json());
            println!("{}", Value::Object(out));
        } else {
            print!("{}{}", self.text(), gpus.text(usage, why_none));
        }
    }

    /// The text lines: the features detected, then each backend and whether it runs here.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = format!("CPU features detected ({} threads):\n", Self::threads());
        for (name, on) in self.features.list() {
            out.push_str(&format!("  {name:<12} {}\n", if on { "yes" } else { "no" }));
        }
        out.push_str("Backends:\n");
        for &k in &self.kinds {
            let state = match k.unsupported_reason(&self.features) {
                None if k == self.auto => "available, used by --backend auto".to_owned(),
                None => "available".to_owned(),
                Some(reason) => format!("unavailable: {reason}"),
            };
            out.push_str(&format!("  {:<10} {state}\n", k.name()));
        }
        if let Some(reason) = &self.auto_reason {
            out.push_str(&format!(
                "--backend auto runs {}: {reason}\n",
                self.auto.name()
            ));
        }
        out
    }
}

/// The GPU adapters as `devices` lists them.
#[derive(Debug, Clone, Default)]
pub struct GpuReport {
    #[cfg(feature = "gpu")]
    adapters: Vec<ixi_gpu::GpuInfo>,
}

impl GpuReport {
    /// Every adapter wgpu finds (none without the `gpu` feature).
    #[must_use]
    pub fn discover() -> Self {
        Self {
            #[cfg(feature = "gpu")]
            adapters: ixi_gpu::discover(),
        }
    }

    /// The adapters as a JSON array: `index`, `name`, `backend`, `deviceType`, `driver`,
    /// `int64`, `software` each.
    #[must_use]
    pub fn json(&self) -> Value {
        #[cfg(feature = "gpu")]
        let adapters: Vec<Value> = self
            .adapters
            .iter()
            .map(|g| {
                json!({
                    "index": g.index,
                    "name": g.name,
                    "backend": g.backend,
                    "deviceType": g.device_type,
                    "driver": g.driver,
                    "int64": g.int64,
                    "software": g.software,
                })
            })
            .collect();
        #[cfg(not(feature = "gpu"))]
        let adapters: Vec<Value> = Vec::new();
        Value::Array(adapters)
    }

    /// The text lines: `none (why)` when there is no adapter, else one line per adapter after
    /// a heading that says how the command uses them (`usage`).
    #[must_use]
    pub fn text(&self, usage: &str, why_none: Option<String>) -> String {
        #[cfg(feature = "gpu")]
        if !self.adapters.is_empty() {
            let mut out = format!("GPU adapters ({usage}):\n");
            for g in &self.adapters {
                out.push_str(&format!(
                    "  [{}] {} ({}, {}, driver {}){}{}\n",
                    g.index,
                    g.name,
                    g.backend,
                    g.device_type,
                    g.driver,
                    if g.int64 { ", 64-bit integers" } else { "" },
                    if g.software {
                        ", software: never fast"
                    } else {
                        ""
                    }
                ));
            }
            return out;
        }
        let _ = usage;
        format!("GPU adapters: none ({})\n", why_none.unwrap_or_default())
    }
}
