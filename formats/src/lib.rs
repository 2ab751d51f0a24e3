#![doc = include_str!("../README.md")]

pub mod address;
pub mod base58;
pub mod difficulty;
pub mod hash;
pub mod number;
pub mod pubkey;
pub mod solution;
pub mod varint;
