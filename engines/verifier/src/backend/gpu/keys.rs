//! The key table: the per-key constants ([`GpuKey`], 1040 bytes) of every modulus the GPU has
//! been given, each computed once, at a fixed index that the items of a dispatch refer to.
//!
//! Bound: at most [`MAX_KEYS`] keys by default (17 MiB on the host and as much on the device;
//! [`super::WgpuOptions::max_keys`] sets another). When a
//! dispatch brings a key that no longer fits, the caller waits for the dispatches in flight
//! and empties the table ([`KeyTable::clear`]); its [`KeyTable::generation`] then changes, so
//! the device copy is uploaded again from index 0. A block brings up to 1000 signer keys and
//! its transactions' wallet keys, so that is rare; a dispatch never holds more items than the
//! table holds keys, so one always fits an empty table.

use std::collections::HashMap;

use ixi_kernels::rsa_wgsl::GpuKey;

/// Most keys the table holds by default.
pub const MAX_KEYS: usize = 16_384;

/// The host side of the key table, mirrored to the device by the context.
#[derive(Debug)]
pub(super) struct KeyTable {
    index: HashMap<Vec<u8>, u32>,
    keys: Vec<GpuKey>,
    capacity: usize,
    generation: u64,
}

impl KeyTable {
    /// An empty table of at most `capacity` keys (at least one).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            index: HashMap::new(),
            keys: Vec::new(),
            capacity: capacity.max(1),
            generation: 0,
        }
    }

    /// Most keys the table holds.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The index of `modulus` (big-endian, no leading zeros), if the table holds it.
    pub(super) fn lookup(&self, modulus: &[u8]) -> Option<u32> {
        self.index.get(modulus).copied()
    }

    /// Keys the table can still take.
    pub(super) fn room(&self) -> usize {
        self.capacity - self.keys.len()
    }

    /// Adds `key` for `modulus`; its index. The caller checked [`KeyTable::room`].
    pub(super) fn insert(&mut self, modulus: &[u8], key: GpuKey) -> u32 {
        // At most MAX_KEYS entries: fits u32.
        let at = u32::try_from(self.keys.len()).unwrap_or(u32::MAX);
        self.keys.push(key);
        self.index.insert(modulus.to_vec(), at);
        at
    }

    /// The key at `index`.
    pub(super) fn get(&self, index: u32) -> Option<&GpuKey> {
        self.keys.get(index as usize)
    }

    /// Every key, by index.
    pub(super) fn keys(&self) -> &[GpuKey] {
        &self.keys
    }

    /// Changes whenever indices are reused.
    pub(super) fn generation(&self) -> u64 {
        self.generation
    }

    /// Forgets every key. Only while no dispatch is in flight: their items name indices.
    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.keys.clear();
        self.generation += 1;
    }
}
