//! Keccak-f\[1600\] per kernel variant this CPU runs (scalar, AVX2, AVX-512, AVX-512 on 256-bit
//! vectors), against the permutation inside the `sha3` crate (measured as one SHA3-512 block).

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ixi_kernels::cpu::CpuFeatures;
use ixi_kernels::simd::SearchKernel;
use sha3::{Digest as _, Sha3_512};

pub(crate) fn permutation(c: &mut Criterion) {
    let mut group = c.benchmark_group("keccak_f1600");
    for kernel in SearchKernel::all(&CpuFeatures::detect()) {
        // Eight states per call for every kernel: throughput is permutations.
        let mut states = [[0x0123_4567_89ab_cdefu64; 25]; 8];
        group.throughput(Throughput::Elements(8));
        group.bench_function(kernel.name(), |b| {
            b.iter(|| kernel.permute(black_box(&mut states)));
        });
    }
    group.throughput(Throughput::Elements(1));
    // 71 bytes: one padded block, one permutation plus absorb/squeeze overhead.
    let data = [0x5au8; 71];
    group.bench_function("sha3 crate, one SHA3-512 block", |b| {
        b.iter(|| Sha3_512::digest(black_box(&data)));
    });
    group.finish();
}
