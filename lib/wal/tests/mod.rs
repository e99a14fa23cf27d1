//! Tests of the storage layer. Each file opens with what it proves and how.
//!
//! Most tests work on real files in a temporary directory; crashes are
//! simulated with `FaultyFileSystem` (a write cut short, then every call
//! failing) or by damaging the files directly, and recovery is then checked
//! by reopening with the real file system.

mod crash;
mod frame;
mod group_commit;
mod hard_state;
mod log;
mod snapshot;
mod torn_tail;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FaultyFileSystem, Recovered, StdFileSystem, Wal, WalOptions};

/// The bytes of entry `index` in these tests: recognisable, of varying length.
pub(super) fn payload(index: u64) -> Vec<u8> {
    format!("entry {index};")
        .repeat((index % 5 + 1) as usize)
        .into_bytes()
}

/// Entries `range` with `payload` bytes.
pub(super) fn entries(range: std::ops::RangeInclusive<u64>) -> Vec<(u64, Vec<u8>)> {
    range.map(|index| (index, payload(index))).collect()
}

/// Log options with small segments on real files whose fsyncs are counted
/// but not done: none of these tests can observe an fsync (a simulated crash
/// keeps the page cache), and real ones cost milliseconds each.
/// `round_trip` covers the real file system end to end.
pub(super) fn options(segment_bytes_max: u64) -> WalOptions {
    WalOptions {
        segment_bytes_max,
        fs: Arc::new(FaultyFileSystem::without_real_fsync()),
    }
}

/// Log options on the real file system (with real fsyncs).
pub(super) fn std_options(segment_bytes_max: u64) -> WalOptions {
    WalOptions {
        segment_bytes_max,
        fs: Arc::new(StdFileSystem),
    }
}

/// Log options on a faulty file system with small segments.
pub(super) fn faulty_options(fs: &FaultyFileSystem, segment_bytes_max: u64) -> WalOptions {
    WalOptions {
        segment_bytes_max,
        fs: Arc::new(fs.clone()),
    }
}

/// Opens the log in `dir` (see `options`).
pub(super) fn open(dir: &Path, segment_bytes_max: u64) -> (Wal, Recovered) {
    Wal::open(dir, options(segment_bytes_max)).expect("open the log")
}

/// The segment files in `dir`, in order.
pub(super) fn segment_paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    paths.sort();
    paths
}

/// Copies every file of `from` into the new directory `to`.
pub(super) fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create");
    for entry in fs::read_dir(from).expect("list") {
        let path = entry.expect("entry").path();
        fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
    }
}
