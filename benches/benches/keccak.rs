//! Keccak-f\[1600\] per lane type, against the `keccak` permutation inside the `sha3` crate
//! (measured as one SHA3-512 block).

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use ixi_kernels::keccak::{Lane, f1600};
use sha3::{Digest as _, Sha3_512};

fn bench_lane<L: Lane>(c: &mut Criterion, name: &str) {
    let mut group = c.benchmark_group("keccak_f1600");
    // Permutations of independent states per call: LANES.
    group.throughput(Throughput::Elements(L::LANES as u64));
    let mut state = [L::splat(0x0123_4567_89ab_cdef); 25];
    group.bench_function(name, |b| {
        b.iter(|| {
            f1600(black_box(&mut state));
        });
    });
    group.finish();
}

pub(crate) fn permutation(c: &mut Criterion) {
    bench_lane::<u64>(c, "u64 (scalar)");
    let mut group = c.benchmark_group("keccak_f1600");
    group.throughput(Throughput::Elements(1));
    // 71 bytes: one padded block, one permutation plus absorb/squeeze overhead.
    let data = [0x5au8; 71];
    group.bench_function("sha3 crate, one SHA3-512 block", |b| {
        b.iter(|| Sha3_512::digest(black_box(&data)));
    });
    group.finish();
}
