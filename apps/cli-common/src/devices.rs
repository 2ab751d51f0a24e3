//! The part of `devices` both worker binaries print: CPU features and the CPU backends.

use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::BackendKind;
use serde_json::{Map, Value, json};

/// The CPU backends of an engine, as `devices` shows them.
#[derive(Debug, Clone)]
pub struct BackendReport<K> {
    features: CpuFeatures,
    kinds: Vec<K>,
    auto: K,
}

impl<K: BackendKind> BackendReport<K> {
    /// The report for `kinds` on this CPU, `auto` being the kind `--backend auto` runs.
    #[must_use]
    pub fn new(features: CpuFeatures, kinds: &[K], auto: K) -> Self {
        Self {
            features,
            kinds: kinds.to_vec(),
            auto,
        }
    }

    /// Threads this machine runs at once.
    #[must_use]
    pub fn threads() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }

    /// The JSON fields: `cpuFeatures`, `threads`, `backends` (each with `name`, `kind`,
    /// `available`, `reason`, `selectedByAuto`) and `auto`.
    #[must_use]
    pub fn json(&self) -> Map<String, Value> {
        let backends: Vec<_> = self
            .kinds
            .iter()
            .map(|&k| {
                let reason = k.unsupported_reason(&self.features);
                json!({
                    "name": k.name(),
                    "kind": "cpu",
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
        out
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
            out.push_str(&format!("  {:<8} {state}\n", k.name()));
        }
        out
    }
}
