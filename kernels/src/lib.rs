#![doc = include_str!("../README.md")]

pub mod keccak;
pub mod pow;
pub mod sponge;
