//! Parsed keys, kept across blocks: signer and wallet keys repeat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::Batch;
use crate::backend::VerifyBackend;
use crate::error::KeyRejected;
use crate::key::VerifyingKey;

/// A bounded cache from Ixian-layout key bytes to parsed keys.
///
/// Two generations approximate least-recently-used: lookups fill the current generation; when
/// it is full it becomes the previous one (the older is dropped), and hits there move back.
#[derive(Debug)]
pub struct KeyCache {
    generations: Mutex<Generations>,
    capacity: usize,
}

type Entry = Result<Arc<VerifyingKey>, KeyRejected>;

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<Vec<u8>, Entry>,
    previous: HashMap<Vec<u8>, Entry>,
}

impl KeyCache {
    /// A cache holding at least `capacity` keys (at most twice that).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            generations: Mutex::new(Generations::default()),
            capacity: capacity.max(1),
        }
    }

    /// The parsed key for `bytes` (Ixian layout), parsing it on a miss. Rejections are cached
    /// too, so a bad key repeated in a block is parsed once.
    ///
    /// # Errors
    /// The key's [`KeyRejected`].
    pub fn get(&self, bytes: &[u8]) -> Result<Arc<VerifyingKey>, KeyRejected> {
        {
            let mut g = self
                .generations
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(hit) = g.current.get(bytes) {
                return hit.clone();
            }
            if let Some(hit) = g.previous.remove(bytes) {
                g.current.insert(bytes.to_vec(), hit.clone());
                return hit;
            }
        }
        // Parse outside the lock: Montgomery constants take a while for large keys.
        let parsed = VerifyingKey::from_ixian(bytes).map(Arc::new);
        let mut g = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if g.current.len() >= self.capacity {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(bytes.to_vec(), parsed.clone());
        parsed
    }

    /// One verdict per `(key bytes, message, signature)`, in order: keys looked up (parsed on
    /// a miss) here, the signatures verified as one batch on `backend`. A key that does not
    /// parse makes its items invalid, as the reference rejects a signature under a malformed
    /// key; every item gets a verdict.
    #[must_use]
    pub fn verdicts<'a>(
        &self,
        items: &[(&'a [u8], &'a [u8], &'a [u8])],
        backend: &dyn VerifyBackend,
    ) -> Vec<bool> {
        let keys: Vec<_> = items.iter().map(|(key, _, _)| self.get(key).ok()).collect();
        let mut batch = Batch::new();
        let mut positions = Vec::with_capacity(items.len());
        for (index, ((_, message, signature), key)) in items.iter().zip(&keys).enumerate() {
            if let Some(key) = key {
                batch.push(key, message, signature);
                positions.push(index);
            }
        }
        let mut verdicts = vec![false; items.len()];
        for (index, ok) in positions.into_iter().zip(batch.verdicts(backend)) {
            verdicts[index] = ok;
        }
        verdicts
    }

    /// Keys held now.
    #[must_use]
    pub fn len(&self) -> usize {
        let g = self
            .generations
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        g.current.len() + g.previous.len()
    }

    /// Whether the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        // A block has up to 1000 signer keys; transactions bring wallet keys.
        Self::new(4096)
    }
}
