//! The miner's cache: small JSON files of measurements (GPU dispatch geometry, and whatever
//! else is worth measuring once per machine) in the platform's cache directory, never in a
//! user's configuration. A cache: a missing, unreadable or unwritable file only costs a new
//! measurement.

use std::path::PathBuf;

use serde_json::{Map, Value};

/// `$IXI_MINER_CACHE_DIR`, else the platform's cache directory (`$XDG_CACHE_HOME` or
/// `~/.cache` on Linux, `~/Library/Caches` on macOS, `%LOCALAPPDATA%` on Windows) with
/// `ixi-miner` appended.
#[must_use]
pub fn dir() -> Option<PathBuf> {
    std::env::var_os("IXI_MINER_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("ixi-miner")))
}

fn read(file: &str) -> Map<String, Value> {
    dir()
        .and_then(|d| std::fs::read_to_string(d.join(file)).ok())
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// The entry `key` of cache file `file`.
#[must_use]
pub fn load(file: &str, key: &str) -> Option<Value> {
    read(file).remove(key)
}

/// Stores `value` as entry `key` of cache file `file`, keeping the other entries.
pub fn store(file: &str, key: &str, value: Value) {
    let Some(dir) = dir() else { return };
    let mut all = read(file);
    all.insert(key.to_owned(), value);
    // Failing to write only costs a new measurement next time.
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(file), Value::Object(all).to_string());
    }
}
