//! `SnapshotStore`: the latest snapshot of the state machine, one file per
//! snapshot, replaced atomically.
//!
//! A snapshot is `(index, term, data)`: the state after applying every entry
//! up to `index`, whose term was `term` (a sequencer, which has no terms,
//! stores 0). Its file is `<dir>/snap-<index:020>.snap`, holding one frame of
//! `index: u64 LE | term: u64 LE | data`, written with the protocol in
//! atomic_file.rs. Older snapshot files are deleted only once the new one is
//! durable, so a crash at any point leaves at least one whole snapshot: open
//! takes the newest and removes the rest.
//!
//! If the newest snapshot fails its checksum, `open` returns `Corrupt`
//! rather than falling back to an older one: the log may already be
//! compacted past the older one, and loading it would silently lose entries.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::atomic_file::{read_checked, recover_directory, write_atomically};
use super::errors::{WalError, WalResult};
use super::fs::FileSystem;
use crate::wire::Reader;

/// The largest snapshot file payload (index, term and data).
pub const SNAPSHOT_BYTES_MAX: usize = 1024 * 1024 * 1024;

/// Bytes of the index and term before the data.
const SNAPSHOT_HEADER_BYTES: usize = 16;
/// The largest snapshot data.
const SNAPSHOT_DATA_BYTES_MAX: usize = SNAPSHOT_BYTES_MAX - SNAPSHOT_HEADER_BYTES;

const SNAPSHOT_PREFIX: &str = "snap-";
const SNAPSHOT_SUFFIX: &str = ".snap";
const SNAPSHOT_INDEX_DIGITS: usize = 20;

/// The state machine's state after applying every entry up to `index`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The last entry the snapshot covers.
    pub index: u64,
    /// The term of that entry (0 where there are no terms).
    pub term: u64,
    /// The state machine's encoded state (opaque here).
    pub data: Vec<u8>,
}

/// The directory of snapshot files of one replica.
#[derive(Debug)]
pub struct SnapshotStore {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    /// The index of the newest snapshot on disk.
    latest_index: Option<u64>,
}

/// The file name of the snapshot at `index`.
fn snapshot_file_name(index: u64) -> String {
    format!(
        "{SNAPSHOT_PREFIX}{index:0width$}{SNAPSHOT_SUFFIX}",
        width = SNAPSHOT_INDEX_DIGITS
    )
}

/// The index named by a snapshot file name, if `name` is one.
fn parse_snapshot_file_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SNAPSHOT_PREFIX)?
        .strip_suffix(SNAPSHOT_SUFFIX)?;
    if digits.len() != SNAPSHOT_INDEX_DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

impl SnapshotStore {
    /// Opens the snapshots in `dir` (creating it if needed) and returns the
    /// newest one, or `None` if there is none. Removes temp files left by a
    /// crash and snapshots older than the newest, and fsyncs the directory
    /// (see `HardStateFile::open` for why).
    pub fn open(
        dir: &Path,
        fs: Arc<dyn FileSystem>,
    ) -> WalResult<(SnapshotStore, Option<Snapshot>)> {
        fs.create_dir_all(dir)
            .map_err(WalError::io("create", dir))?;
        recover_directory(fs.as_ref(), dir, |name| {
            parse_snapshot_file_name(name).is_some()
        })?;
        let indices = list_snapshots(fs.as_ref(), dir)?;
        let mut store = SnapshotStore {
            fs,
            dir: dir.to_path_buf(),
            latest_index: None,
        };
        let Some(&latest_index) = indices.last() else {
            return Ok((store, None));
        };
        store.latest_index = Some(latest_index);
        let snapshot = store.load_latest()?;
        store.remove_older_than(latest_index)?;
        Ok((store, snapshot))
    }

    /// The index of the newest snapshot on disk, if any.
    pub fn latest_index(&self) -> Option<u64> {
        self.latest_index
    }

    /// Reads the newest snapshot back from disk (a leader sending it to a
    /// lagging follower), checking its checksum and index.
    pub fn load_latest(&self) -> WalResult<Option<Snapshot>> {
        let Some(index) = self.latest_index else {
            return Ok(None);
        };
        let path = self.dir.join(snapshot_file_name(index));
        let Some(mut payload) = read_checked(self.fs.as_ref(), &path, SNAPSHOT_BYTES_MAX)? else {
            return Err(WalError::corrupt(&path, 0, "snapshot file vanished"));
        };
        let mut header = Reader::new(&payload);
        let (Ok(stored_index), Ok(term)) = (header.u64(), header.u64()) else {
            return Err(WalError::corrupt(
                &path,
                0,
                "snapshot shorter than its header",
            ));
        };
        if stored_index != index {
            let reason = format!("file named for index {index} holds index {stored_index}");
            return Err(WalError::corrupt(&path, 0, reason));
        }
        payload.drain(..SNAPSHOT_HEADER_BYTES);
        Ok(Some(Snapshot {
            index,
            term,
            data: payload,
        }))
    }

    /// Stores `snapshot` durably, then deletes the older snapshot files. A
    /// snapshot at the same index replaces the stored one; an older one is
    /// refused (`SnapshotOutOfOrder`).
    pub fn save(&mut self, snapshot: &Snapshot) -> WalResult<()> {
        self.save_data(snapshot.index, snapshot.term, &snapshot.data)
    }

    /// As [`SnapshotStore::save`], for data that is not in a [`Snapshot`]
    /// (a snapshot image kept whole elsewhere, not copied for the write).
    pub fn save_data(&mut self, index: u64, term: u64, data: &[u8]) -> WalResult<()> {
        if let Some(latest) = self.latest_index.filter(|&latest| latest > index) {
            return Err(WalError::SnapshotOutOfOrder { index, latest });
        }
        if data.len() > SNAPSHOT_DATA_BYTES_MAX {
            let bytes = data.len();
            return Err(WalError::TooLarge {
                what: "snapshot",
                bytes,
                max: SNAPSHOT_DATA_BYTES_MAX,
            });
        }
        let name = snapshot_file_name(index);
        write_atomically(self.fs.as_ref(), &self.dir, &name, |payload| {
            payload.u64(index);
            payload.u64(term);
            payload.bytes(data);
        })?;
        self.latest_index = Some(index);
        self.remove_older_than(index)
    }

    /// Removes the snapshot files older than `index`. Removals need not be
    /// durable in any order: whatever survives a crash, open keeps the newest.
    fn remove_older_than(&self, index: u64) -> WalResult<()> {
        let mut removed = false;
        for older in list_snapshots(self.fs.as_ref(), &self.dir)? {
            if older < index {
                let path = self.dir.join(snapshot_file_name(older));
                self.fs
                    .remove_file(&path)
                    .map_err(WalError::io("remove", &path))?;
                removed = true;
            }
        }
        if removed {
            self.fs
                .sync_dir(&self.dir)
                .map_err(WalError::io("fsync", &self.dir))?;
        }
        Ok(())
    }
}

/// The indices of the snapshot files in `dir`, in order.
fn list_snapshots(fs: &dyn FileSystem, dir: &Path) -> WalResult<Vec<u64>> {
    let names = fs.list_dir(dir).map_err(WalError::io("list", dir))?;
    let mut indices: Vec<u64> = names
        .iter()
        .filter_map(|name| parse_snapshot_file_name(name))
        .collect();
    indices.sort_unstable();
    Ok(indices)
}
