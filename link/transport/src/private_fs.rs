//! Files only their owner may read or change: the data directory (0700) and everything in it
//! (0600), whatever the umask. A file is never written through a symbolic link, and a
//! directory or file found with looser modes is tightened (it is ours) or refused.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why a private file or directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateFsError {
    /// Reading, writing, creating or changing modes failed.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A symbolic link where a private file or directory belongs.
    #[error(
        "{0} is a symbolic link; refusing to follow it (remove it, or point --data-dir at the real directory)"
    )]
    Symlink(PathBuf),
    /// Something else than a regular file or directory.
    #[error("{0} is not a {1}")]
    WrongKind(PathBuf, &'static str),
    /// Looser modes on a path this user does not own (they cannot be tightened).
    #[error(
        "{path} has mode {mode:o}, readable or writable by others, and is not ours to tighten; fix it with chmod {wanted:o}"
    )]
    TooOpen {
        /// The path.
        path: PathBuf,
        /// Its mode.
        mode: u32,
        /// The mode wanted.
        wanted: u32,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PrivateFsError + '_ {
    move |source| PrivateFsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The directory's mode.
const DIR_MODE: u32 = 0o700;
/// A file's mode.
const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and its missing parents) owner-only, or checks an existing one: not a
/// symbolic link, a directory, and no access for others (tightened if ours).
///
/// # Errors
/// [`PrivateFsError`].
pub fn ensure_dir(dir: &Path) -> Result<(), PrivateFsError> {
    match fs::symlink_metadata(dir) {
        Ok(meta) => check(dir, &meta, "directory", DIR_MODE),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
            builder.create(dir).map_err(io(dir))?;
            // The umask may have taken bits off (never added any): set the mode exactly.
            set_mode(dir, DIR_MODE)
        }
        Err(e) => Err(io(dir)(e)),
    }
}

/// Checks an existing private file: not a symbolic link, a regular file, no access for others
/// (tightened if ours).
///
/// # Errors
/// [`PrivateFsError`].
pub fn check_file(path: &Path) -> Result<(), PrivateFsError> {
    let meta = fs::symlink_metadata(path).map_err(io(path))?;
    check(path, &meta, "file", FILE_MODE)
}

/// Reads a private file after [`check_file`].
///
/// # Errors
/// [`PrivateFsError`].
pub fn read(path: &Path) -> Result<Vec<u8>, PrivateFsError> {
    check_file(path)?;
    fs::read(path).map_err(io(path))
}

/// Writes `bytes` to `path` (0600): into a new temporary file beside it, then renamed over it,
/// so that no reader sees half a file and a symbolic link at `path` is replaced, never
/// followed.
///
/// # Errors
/// [`PrivateFsError`].
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), PrivateFsError> {
    let temp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_file(&temp);
    let mut options = fs::OpenOptions::new();
    // create_new: never opens an existing file or follows a link left at the temporary name.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let result = options
        .open(&temp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(io(&temp))
        .and_then(|()| set_mode(&temp, FILE_MODE))
        .and_then(|()| fs::rename(&temp, path).map_err(io(path)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Writes a new private file that must not exist yet (a key): refuses an existing file or a
/// symbolic link, dangling or not, at `path`.
///
/// # Errors
/// [`PrivateFsError`] ([`PrivateFsError::Symlink`] for a link at `path`).
pub fn create_new(path: &Path, bytes: &[u8]) -> Result<(), PrivateFsError> {
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(PrivateFsError::Symlink(path.to_owned()));
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .map_err(io(path))?;
    set_mode(path, FILE_MODE)
}

fn check(
    path: &Path,
    meta: &fs::Metadata,
    kind: &'static str,
    wanted: u32,
) -> Result<(), PrivateFsError> {
    if meta.file_type().is_symlink() {
        return Err(PrivateFsError::Symlink(path.to_owned()));
    }
    let right_kind = if kind == "directory" {
        meta.is_dir()
    } else {
        meta.is_file()
    };
    if !right_kind {
        return Err(PrivateFsError::WrongKind(path.to_owned(), kind));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            // SAFETY: geteuid has no preconditions and cannot fail.
            let ours = meta.uid() == unsafe { libc::geteuid() };
            if !ours {
                return Err(PrivateFsError::TooOpen {
                    path: path.to_owned(),
                    mode,
                    wanted,
                });
            }
            tracing::warn!(
                "{} had mode {mode:o}; tightened to {wanted:o}",
                path.display()
            );
            return set_mode(path, wanted);
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<(), PrivateFsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io(path))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}
