//! `ixi-verifier devices`.

use ixi_cli_common::devices::BackendReport;
use ixi_kernels::cpu::CpuFeatures;
use ixi_verifier::backend::{BackendChoice, BackendKind};

use super::DevicesArgs;

pub(super) fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let features = CpuFeatures::detect();
    let auto = BackendChoice::Auto.resolve(&features)?;
    let report = BackendReport::new(features, &BackendKind::ALL, auto);
    if args.json {
        println!("{}", serde_json::Value::Object(report.json()));
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
