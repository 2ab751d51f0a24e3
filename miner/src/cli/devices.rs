//! `ixi-miner devices`.

use ixi_miner::backend::{self, BackendChoice, BackendKind, CpuFeatures};
use serde_json::json;

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = backend::resolve(BackendChoice::Auto, &features)?;
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    if args.json {
        let backends: Vec<_> = BackendKind::ALL
            .iter()
            .map(|k| {
                let reason = k.unsupported_reason(&features);
                json!({
                    "name": k.name(),
                    "kind": "cpu",
                    "available": reason.is_none(),
                    "reason": reason,
                    "selectedByAuto": *k == auto,
                })
            })
            .collect();
        let cpu: serde_json::Map<_, _> = features
            .list()
            .iter()
            .map(|(n, v)| ((*n).to_owned(), json!(v)))
            .collect();
        let gpus: Vec<_> = discover_gpus()
            .into_iter()
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
        let out = json!({
            "gpus": gpus,
            "cpuFeatures": cpu,
            "threads": threads,
            "backends": backends,
            "auto": auto.name(),
        });
        println!("{out}");
        return Ok(());
    }
    println!("CPU features detected ({threads} threads):");
    for (name, on) in features.list() {
        println!("  {name:<12} {}", if on { "yes" } else { "no" });
    }
    println!("Backends:");
    for k in BackendKind::ALL {
        let state = match k.unsupported_reason(&features) {
            None if k == auto => "available, used by --backend auto".to_owned(),
            None => "available".to_owned(),
            Some(reason) => format!("unavailable: {reason}"),
        };
        println!("  {:<8} {state}", k.name());
    }
    let gpus = discover_gpus();
    if gpus.is_empty() {
        println!(
            "GPU adapters: none ({})",
            BackendKind::Wgpu
                .unsupported_reason(&features)
                .unwrap_or_default()
        );
    } else {
        println!(
            "GPU adapters (--backend wgpu uses all; --gpu adds the non-software ones beside the CPU):"
        );
        for g in gpus {
            println!(
                "  [{}] {} ({}, {}, driver {}){}{}",
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
            );
        }
    }
    Ok(())
}

#[cfg(feature = "gpu")]
fn discover_gpus() -> Vec<backend::gpu::GpuInfo> {
    backend::gpu::discover()
}

/// A build without the `gpu` feature sees no adapters.
#[cfg(not(feature = "gpu"))]
fn discover_gpus() -> Vec<GpuInfo> {
    Vec::new()
}

#[cfg(not(feature = "gpu"))]
struct GpuInfo {
    index: usize,
    name: String,
    backend: String,
    device_type: String,
    driver: String,
    int64: bool,
    software: bool,
}
