//! Atomic replacement of a small checksummed file: the protocol the hard
//! state and the snapshots share.
//!
//! To replace `<dir>/<name>`: write `<name>.tmp`, fsync it, rename it over
//! `<name>`, fsync the directory. A rename within one directory is atomic,
//! so after a crash `<name>` is either the old file or the new one, whole
//! and durable (its data was fsynced before the rename made it visible); at
//! worst a `.tmp` is left over, which is never read and is removed on open
//! (`recover_directory`).
//!
//! The file is one frame (frame.rs), so a reader knows its length and checks
//! its CRC. Since a crash cannot tear a renamed file, a bad frame means
//! damage after the fact and is reported as `WalError::Corrupt`, never read
//! as "no file".

use std::io;
use std::path::Path;

use log::info;

use super::errors::{WalError, WalResult};
use super::frame::{self, FRAME_HEADER_BYTES};
use super::fs::FileSystem;
use crate::wire::Writer;

/// The suffix of the file written before the rename.
pub(crate) const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `<dir>/<name>` with one frame, whose payload `write_payload`
/// writes.
pub(crate) fn write_atomically(
    fs: &dyn FileSystem,
    dir: &Path,
    name: &str,
    write_payload: impl FnOnce(&mut Writer),
) -> WalResult<()> {
    let path = dir.join(name);
    let temp = dir.join(format!("{name}{TEMP_SUFFIX}"));
    let mut bytes = Vec::new();
    frame::encode_with(&mut bytes, write_payload);
    let mut file = fs.create(&temp).map_err(WalError::io("create", &temp))?;
    file.write_all(&bytes)
        .map_err(WalError::io("write", &temp))?;
    file.sync_data().map_err(WalError::io("fsync", &temp))?;
    drop(file);
    fs.rename(&temp, &path)
        .map_err(WalError::io("rename", &temp))?;
    fs.sync_dir(dir).map_err(WalError::io("fsync", dir))
}

/// The payload of the file at `path`, or `None` if there is no such file.
pub(crate) fn read_checked(
    fs: &dyn FileSystem,
    path: &Path,
    payload_bytes_max: usize,
) -> WalResult<Option<Vec<u8>>> {
    let mut bytes = match fs.read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(WalError::io("read", path)(error)),
    };
    let payload_bytes = frame::decode_exact(&bytes, payload_bytes_max)
        .map_err(|error| WalError::corrupt(path, 0, error.to_string()))?
        .len();
    // Reuse the buffer rather than copy a payload that may be a large snapshot.
    bytes.drain(..FRAME_HEADER_BYTES);
    debug_assert_eq!(bytes.len(), payload_bytes);
    Ok(Some(bytes))
}

/// Makes `dir` safe to read after a crash: removes the `.tmp` files an
/// interrupted write left (for the names `is_ours` accepts, without the
/// suffix), then fsyncs the directory, so that a rename the previous process
/// made but did not live to fsync is durable before anyone acts on what it
/// reads. Returns how many files it removed.
pub(crate) fn recover_directory(
    fs: &dyn FileSystem,
    dir: &Path,
    is_ours: impl Fn(&str) -> bool,
) -> WalResult<usize> {
    let names = fs.list_dir(dir).map_err(WalError::io("list", dir))?;
    let mut removed = 0;
    for name in names {
        let Some(target) = name.strip_suffix(TEMP_SUFFIX) else {
            continue;
        };
        if is_ours(target) {
            let path = dir.join(&name);
            info!(
                "{}: removing a file left by an interrupted write",
                path.display()
            );
            fs.remove_file(&path)
                .map_err(WalError::io("remove", &path))?;
            removed += 1;
        }
    }
    fs.sync_dir(dir).map_err(WalError::io("fsync", dir))?;
    Ok(removed)
}
