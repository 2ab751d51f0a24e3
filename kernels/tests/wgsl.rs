//! The WGSL search kernels: naga validates both generated variants with the capabilities the
//! miner requests (no GPU needed), and their structure and uniform layout are as the host
//! expects.

// Test code: a failed expectation is a panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ixi_kernels::wgsl::{self, Variant};
use naga::valid::Capabilities;

use crate::support::validate;

/// What the miner requests for a variant: nothing for the portable one, `SHADER_INT64` for `U64`.
fn requested(variant: Variant) -> Capabilities {
    match variant {
        Variant::U32Pairs => Capabilities::empty(),
        Variant::U64 => Capabilities::SHADER_INT64,
    }
}

const VARIANTS: [Variant; 2] = [Variant::U32Pairs, Variant::U64];

#[test]
fn naga_validates_both_variants_with_the_capabilities_requested() {
    validate(Variant::U32Pairs.source(), Capabilities::empty())
        .expect("the portable variant needs nothing");
    validate(Variant::U64.source(), Capabilities::SHADER_INT64)
        .expect("the u64 variant needs SHADER_INT64");
    assert!(
        validate(Variant::U64.source(), Capabilities::empty()).is_err(),
        "the u64 variant must not pass without SHADER_INT64"
    );
}

#[test]
fn the_kernel_is_unrolled_without_dynamic_indexing() {
    for variant in VARIANTS {
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
    for variant in VARIANTS {
        let module = validate(variant.source(), requested(variant)).unwrap();
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
