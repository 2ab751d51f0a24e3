//! The miner's cache: small JSON files of measurements (GPU dispatch geometry, the CPU backend
//! `auto` picks, and whatever else is worth measuring once per machine) in the platform's cache
//! directory, never in a user's configuration. A cache: a missing, unreadable or unwritable file
//! only costs a new measurement.

use std::path::{Path, PathBuf};

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

/// The entries of `dir/file`: none if it does not exist, an error saying why if it cannot be
/// read or is not a JSON object.
fn read_in(dir: &Path, file: &str) -> Result<Map<String, Value>, String> {
    let path = dir.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(all)) => Ok(all),
        Ok(_) => Err(format!("{}: not a JSON object", path.display())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

fn read(file: &str) -> Map<String, Value> {
    dir()
        .and_then(|d| read_in(&d, file).ok())
        .unwrap_or_default()
}

/// The entry `key` of cache file `file`.
#[must_use]
pub fn load(file: &str, key: &str) -> Option<Value> {
    read(file).remove(key)
}

/// The entry `key` of `dir/file`, `None` where there is none.
///
/// # Errors
/// Why the file exists but cannot be used (unreadable, not JSON, not an object): the caller
/// says so and measures again.
pub fn load_from(dir: &Path, file: &str, key: &str) -> Result<Option<Value>, String> {
    read_in(dir, file).map(|mut all| all.remove(key))
}

/// Stores `value` as entry `key` of cache file `file`, keeping the other entries.
pub fn store(file: &str, key: &str, value: Value) {
    if let Some(dir) = dir() {
        store_in(&dir, file, key, value);
    }
}

/// Stores `value` as entry `key` of `dir/file`, keeping the other entries (all of them lost
/// where the file was unusable).
pub fn store_in(dir: &Path, file: &str, key: &str, value: Value) {
    let mut all = read_in(dir, file).unwrap_or_default();
    all.insert(key.to_owned(), value);
    // Failing to write only costs a new measurement next time.
    if std::fs::create_dir_all(dir).is_ok() {
        let _ = std::fs::write(dir.join(file), Value::Object(all).to_string());
    }
}
