//! Batches: push items, get one verdict per item.

use crate::backend::VerifyBackend;
use crate::error::BatchError;
use crate::item::VerifyItem;
use crate::key::VerifyingKey;

/// A batch of signatures verified together.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    items: Vec<VerifyItem<'a>>,
}

impl<'a> Batch<'a> {
    /// An empty batch.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an item; its verdict will be at the index it got here.
    pub fn push(&mut self, key: &'a VerifyingKey, message: &'a [u8], signature: &'a [u8]) {
        self.items.push(VerifyItem {
            key,
            message,
            signature,
        });
    }

    /// Items pushed so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was pushed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One verdict per item, in push order.
    #[must_use]
    pub fn verdicts(&self, backend: &dyn VerifyBackend) -> Vec<bool> {
        let mut ok = vec![false; self.items.len()];
        backend.verify_batch(&self.items, &mut ok);
        ok
    }

    /// `Ok` if every item verifies.
    ///
    /// # Errors
    /// [`BatchError`] with the indices of the items that did not.
    pub fn verify_all(&self, backend: &dyn VerifyBackend) -> Result<(), BatchError> {
        let failed: Vec<usize> = self
            .verdicts(backend)
            .iter()
            .enumerate()
            .filter_map(|(i, &ok)| (!ok).then_some(i))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(BatchError { failed })
        }
    }
}
