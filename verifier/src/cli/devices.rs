//! `ixi-verifier devices`.

use ixi_kernels::cpu::CpuFeatures;
use ixi_verifier::backend::{self, BackendChoice, BackendKind};
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
        println!(
            "{}",
            json!({"cpuFeatures": cpu, "threads": threads, "backends": backends, "auto": auto.name()})
        );
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
    Ok(())
}
