//! SHA-512 of eight 64-byte messages (the block-signature message size): the eight-lane AVX-512
//! kernel against the `sha2` crate one message at a time, the baseline.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ixi_kernels::cpu::CpuFeatures;
use sha2::{Digest as _, Sha512};

pub(crate) fn eight_messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("sha512_x8");
    group.throughput(Throughput::Elements(8));
    let messages: Vec<Vec<u8>> = (0u8..8).map(|i| vec![i; 64]).collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = CpuFeatures::detect().avx512() {
        let mut out = [[0u8; 64]; 8];
        group.bench_function("avx512, eight lanes", |b| {
            b.iter(|| ixi_kernels::sha512::digest8(token, black_box(&refs), &mut out));
        });
    }
    group.bench_function("baseline: sha2 crate, one at a time", |b| {
        b.iter(|| {
            refs.iter()
                .map(|m| Sha512::digest(black_box(m))[0])
                .fold(0u8, |a, x| a ^ x)
        });
    });
    group.finish();
}
