//! `ixi-miner devices`.

use ixi_cli_common::devices::{BackendReport, GpuReport};
use ixi_kernels::select::BackendKind as _;
use ixi_miner::backend::{BackendChoice, BackendKind, CpuFeatures};

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = BackendChoice::Auto.resolve(&features)?;
    let report = BackendReport::new(features, &BackendKind::ALL, auto);
    let gpus = GpuReport::discover();
    if args.json {
        let mut out = report.json();
        out.insert("gpus".into(), gpus.json());
        println!("{}", serde_json::Value::Object(out));
        return Ok(());
    }
    print!("{}", report.text());
    print!(
        "{}",
        gpus.text(
            "--backend wgpu uses all; --gpu adds the non-software ones beside the CPU",
            BackendKind::Wgpu.unsupported_reason(&features)
        )
    );
    Ok(())
}
