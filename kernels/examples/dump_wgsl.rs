//! Prints a generated WGSL shader, for reading it (the text is not checked in):
//! `cargo run -p ixi-kernels --example dump_wgsl -- search-u32` (also `search-u64`, `rsa-u32`,
//! `rsa-u64`).

use std::process::ExitCode;

use ixi_kernels::{rsa_wgsl, wgsl};

/// The shaders by the names this example takes.
const NAMES: [&str; 4] = ["search-u32", "search-u64", "rsa-u32", "rsa-u64"];

/// The shader named `name`.
fn shader(name: &str) -> Option<&'static str> {
    Some(match name {
        "search-u32" => wgsl::Variant::U32Pairs.source(),
        "search-u64" => wgsl::Variant::U64.source(),
        "rsa-u32" => rsa_wgsl::Variant::U32.source(),
        "rsa-u64" => rsa_wgsl::Variant::U64.source(),
        _ => return None,
    })
}

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_default();
    if let Some(source) = shader(&name) {
        print!("{source}");
        ExitCode::SUCCESS
    } else {
        eprintln!("usage: dump_wgsl <{}>", NAMES.join("|"));
        ExitCode::FAILURE
    }
}
