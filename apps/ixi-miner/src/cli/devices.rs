//! `ixi-miner devices`.

use ixi_cli_common::devices::{BackendReport, GpuReport};
use ixi_kernels::select::BackendKind as _;
use ixi_miner::backend::{BackendChoice, BackendKind, CpuFeatures};

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = BackendChoice::Auto.resolve(&features)?;
    BackendReport::new(features, &BackendKind::ALL, auto).print(
        &GpuReport::discover(),
        args.json,
        "--backend wgpu uses all; --gpu adds the non-software ones beside the CPU",
        BackendKind::Wgpu.unsupported_reason(&features),
    );
    Ok(())
}
