//! `ixi-link simnode`: the simulated node alone, serving the real API over HTTP, so a link or
//! a script can be tested against it.

use std::net::SocketAddr;

use clap::Args;
use ixi_cli_common::engine::parse_seconds;
use ixi_simnode::SimNode;

use crate::serve::SimArgs;

#[derive(Debug, Args)]
pub(crate) struct SimnodeArgs {
    /// Where the API listens (HTTP).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Stop after this many seconds (0: run until Ctrl-C).
    #[arg(long, default_value_t = 0.0, value_parser = parse_seconds)]
    seconds: f64,
    /// Write the ledger of deliberately wrong items (JSON lines: block, kind, index) here on
    /// exit.
    #[arg(long)]
    ledger: Option<std::path::PathBuf>,
    #[command(flatten)]
    sim: SimArgs,
}

pub(crate) fn run(args: &SimnodeArgs) -> anyhow::Result<()> {
    let sim = args.sim.config()?;
    super::runtime()?.block_on(async {
        let node = SimNode::start(sim, args.listen).await?;
        eprintln!(
            "simulated node API on {}; Ctrl-C or SIGTERM stops",
            node.url()
        );
        if node.wait_ready(std::time::Duration::from_secs(90)).await {
            eprintln!("simulated chain ready at height {}", node.chain().height());
        }
        let wait = async {
            if args.seconds > 0.0 {
                tokio::time::sleep(std::time::Duration::from_secs_f64(args.seconds)).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        // SIGTERM too: the ledger below is written on every orderly stop (a script's `kill`).
        tokio::select! {
            () = ixi_cli_common::service::stop_signal() => {}
            () = wait => {}
        }
        node.stop();
        if let Some(path) = &args.ledger {
            let mut text = String::new();
            for (block, items) in node.chain().ledger() {
                for c in items {
                    text.push_str(&format!(
                        "{}\n",
                        serde_json::json!({"block": block, "kind": c.kind, "index": c.index})
                    ));
                }
            }
            std::fs::write(path, text)?;
        }
        Ok(())
    })
}
