//! The WGSL search kernels: the checked-in text is what the generator writes, and naga
//! validates both variants with the capabilities the miner requests (no GPU needed).

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ixi_kernels::wgsl::{self, Variant};
use naga::valid::{Capabilities, ValidationFlags, Validator};

const VARIANTS: [(Variant, &str); 2] = [
    (Variant::U32Pairs, "search_u32.wgsl"),
    (Variant::U64, "search_u64.wgsl"),
];

#[test]
fn checked_in_shaders_are_the_generators_output() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("wgsl");
    if std::env::var_os("IXI_REGENERATE_WGSL").is_some() {
        for (variant, file) in VARIANTS {
            std::fs::write(dir.join(file), wgsl::generate(variant)).unwrap();
        }
    }
    for (variant, file) in VARIANTS {
        let generated = wgsl::generate(variant);
        let path = dir.join(file);
        let checked_in = std::fs::read_to_string(&path).unwrap();
        assert!(
            checked_in == generated && variant.source() == generated,
            "{} differs from the generator; run IXI_REGENERATE_WGSL=1 cargo test -p ixi-kernels --test wgsl",
            path.display()
        );
    }
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .file_name()
                .and_then(|x| x.to_str())
                .is_some_and(|x| x.starts_with("search_") && x.ends_with(".wgsl"))
        })
        .count();
    assert_eq!(
        files,
        VARIANTS.len(),
        "every search WGSL file is a generated variant"
    );
}

fn validate(source: &str, caps: Capabilities) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

#[test]
fn naga_validates_both_variants_with_the_capabilities_requested() {
    validate(wgsl::SEARCH_U32, Capabilities::empty()).expect("the portable variant needs nothing");
    validate(wgsl::SEARCH_U64, Capabilities::SHADER_INT64)
        .expect("the u64 variant needs SHADER_INT64");
    assert!(
        validate(wgsl::SEARCH_U64, Capabilities::empty()).is_err(),
        "the u64 variant must not pass without SHADER_INT64"
    );
}

#[test]
fn the_kernel_is_unrolled_without_dynamic_indexing() {
    for (variant, _) in VARIANTS {
        let source = variant.source();
        let keccak = &source[source.find("fn keccak_f").unwrap()
            ..source
                .find("fn bswap")
                .or_else(|| source.find("fn pair"))
                .unwrap()];
        assert!(
            !keccak.contains("for ") && !keccak.contains("loop"),
            "{variant:?}: a loop in keccak_f"
        );
        assert!(!keccak.contains('['), "{variant:?}: indexing in keccak_f");
        assert_eq!(keccak.matches("// round").count(), 24);
    }
}

#[test]
fn the_uniform_struct_mirrors_the_shaders_params_member_by_member() {
    for (variant, _) in VARIANTS {
        let module = naga::front::wgsl::parse_str(variant.source()).unwrap();
        let (_, params) = module
            .types
            .iter()
            .find(|(_, t)| t.name.as_deref() == Some("Params"))
            .expect("a Params struct");
        let naga::TypeInner::Struct { members, span } = &params.inner else {
            panic!("Params is not a struct");
        };
        let shader: Vec<(&str, usize)> = members
            .iter()
            .map(|m| (m.name.as_deref().unwrap(), m.offset as usize))
            .collect();
        assert_eq!(shader, wgsl::SearchParams::MEMBERS, "{variant:?}");
        assert_eq!(
            *span as u64,
            wgsl::SearchParams::BYTES,
            "{variant:?}: struct size"
        );
    }
}
