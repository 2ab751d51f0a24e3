//! `ixi-miner devices`.

use ixi_cli_common::devices::BackendReport;
use ixi_kernels::select::BackendKind as _;
use ixi_miner::backend::{self, BackendChoice, BackendKind, CpuFeatures};
use serde_json::json;

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = BackendChoice::Auto.resolve(&features)?;
    let report = BackendReport::new(features, &BackendKind::ALL, auto);
    if args.json {
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
        let mut out = report.json();
        out.insert("gpus".into(), json!(gpus));
        println!("{}", serde_json::Value::Object(out));
        return Ok(());
    }
    print!("{}", report.text());
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
