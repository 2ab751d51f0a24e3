#![doc = include_str!("../README.md")]

pub mod cpu;
pub mod keccak;
pub mod mont;
pub mod pow;
pub mod rsa_wgsl;
pub mod select;
pub mod sha512;
pub mod simd;
pub mod sponge;
pub mod wgsl;
