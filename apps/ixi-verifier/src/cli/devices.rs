//! `ixi-verifier devices`.

use ixi_cli_common::devices::{BackendReport, GpuReport};
use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::select::BackendKind as _;
use ixi_verifier::backend::{BackendChoice, BackendKind};

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = BackendChoice::Auto.resolve(&features)?;
    // Every kind, wgpu included: CI forces each available one in turn.
    BackendReport::new(features, &BackendKind::KINDS, auto).print(
        &GpuReport::discover(),
        args.json,
        "--backend wgpu uses the first hardware adapter, else the first; auto never does",
        BackendKind::Wgpu.unsupported_reason(&features),
    );
    Ok(())
}
