//! `ixi-miner devices`.

use ixi_cli_common::devices::BackendReport;
use ixi_miner::backend::BackendKind;

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    BackendReport::print_for_this_machine(
        &BackendKind::ALL,
        BackendKind::Wgpu,
        args.json,
        "--backend wgpu uses all; --gpu adds the non-software ones beside the CPU",
    )?;
    Ok(())
}
