//! `ixi-miner devices`.

use ixi_cli_common::devices::{BackendReport, GpuReport};
use ixi_kernels::select::BackendKind as _;
use ixi_miner::backend::{BackendKind, CpuFeatures};

use ixi_cli_common::devices::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = super::auto_choice(&features);
    BackendReport::new(features, &BackendKind::ALL, auto.kind)
        .with_auto_reason(auto.to_string())
        .print(
            &GpuReport::discover(),
            args.json,
            "--backend wgpu uses all; --gpu adds the non-software ones beside the CPU",
            BackendKind::Wgpu.unsupported_reason(&features),
        );
    Ok(())
}
