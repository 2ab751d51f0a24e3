//! `ixi-verifier devices`.

use ixi_cli_common::devices::BackendReport;
use ixi_verifier::backend::BackendKind;

use ixi_cli_common::devices::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    // Every kind, wgpu included: CI forces each available one in turn.
    BackendReport::print_for_this_machine(
        &BackendKind::KINDS,
        BackendKind::Wgpu,
        args.json,
        "--backend wgpu uses the first hardware adapter, else the first; auto never does",
    )?;
    Ok(())
}
