//! Snapshot files: atomic replacement, retention of the newest, crash
//! leftovers, corruption.
//!
//! Method: save and reopen; plant what a crash leaves (a partial temp file,
//! an older snapshot not yet deleted); damage the newest file; crash in the
//! middle of a save with `FaultyFileSystem`.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::wal::{FaultyFileSystem, Snapshot, SnapshotStore, StdFileSystem, WalError};

fn open(dir: &Path) -> (SnapshotStore, Option<Snapshot>) {
    SnapshotStore::open(dir, Arc::new(StdFileSystem)).expect("open")
}

fn snapshot(index: u64) -> Snapshot {
    Snapshot {
        index,
        term: index / 10 + 1,
        data: format!("state at {index}").into_bytes(),
    }
}

/// The names of the files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8")
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_newest_snapshot_is_kept_and_older_ones_deleted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, loaded) = open(dir.path());
    assert_eq!((loaded, store.latest_index()), (None, None));
    store.save(&snapshot(10)).expect("save");
    store.save(&snapshot(25)).expect("save");
    assert_eq!(file_names(dir.path()), ["snap-00000000000000000025.snap"]);
    assert_eq!(store.load_latest().expect("load"), Some(snapshot(25)));
    drop(store);
    let (store, loaded) = open(dir.path());
    assert_eq!(loaded, Some(snapshot(25)));
    assert_eq!(store.latest_index(), Some(25));
}

#[test]
fn an_older_snapshot_is_refused_and_the_same_index_replaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = open(dir.path());
    store.save(&snapshot(25)).expect("save");
    let error = store.save(&snapshot(10)).expect_err("older");
    assert!(
        matches!(
            error,
            WalError::SnapshotOutOfOrder {
                index: 10,
                latest: 25
            }
        ),
        "{error}"
    );
    let replacement = Snapshot {
        data: b"replayed".to_vec(),
        ..snapshot(25)
    };
    store.save(&replacement).expect("same index");
    assert_eq!(open(dir.path()).1, Some(replacement));
}

#[test]
fn crash_leftovers_are_cleaned_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = open(dir.path());
    store.save(&snapshot(10)).expect("save");
    let older = fs::read(dir.path().join("snap-00000000000000000010.snap")).expect("read");
    store.save(&snapshot(20)).expect("save");
    // A crash after the rename of 20 but before 10 was deleted, and another
    // in the middle of writing 30.
    fs::write(dir.path().join("snap-00000000000000000010.snap"), older).expect("plant");
    fs::write(
        dir.path().join("snap-00000000000000000030.snap.tmp"),
        b"junk",
    )
    .expect("plant");
    let (_, loaded) = open(dir.path());
    assert_eq!(loaded, Some(snapshot(20)));
    assert_eq!(file_names(dir.path()), ["snap-00000000000000000020.snap"]);
}

#[test]
fn a_corrupt_newest_snapshot_is_an_error_even_with_an_older_one_present() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut store, _) = open(dir.path());
    store.save(&snapshot(10)).expect("save");
    let older = fs::read(dir.path().join("snap-00000000000000000010.snap")).expect("read");
    store.save(&snapshot(20)).expect("save");
    fs::write(dir.path().join("snap-00000000000000000010.snap"), older).expect("plant");
    let newest = dir.path().join("snap-00000000000000000020.snap");
    let mut bytes = fs::read(&newest).expect("read");
    bytes[12] ^= 0x04;
    fs::write(&newest, bytes).expect("damage");
    let error = SnapshotStore::open(dir.path(), Arc::new(StdFileSystem)).expect_err("corrupt");
    assert!(matches!(error, WalError::Corrupt { .. }), "{error}");
}

#[test]
fn a_crash_in_the_middle_of_a_save_keeps_the_previous_snapshot() {
    for budget in [0, 5, 16, 30] {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = FaultyFileSystem::new();
        let (mut store, _) = SnapshotStore::open(dir.path(), Arc::new(fs.clone())).expect("open");
        store.save(&snapshot(10)).expect("save");
        fs.crash_after_bytes(budget);
        assert!(store.save(&snapshot(20)).is_err());
        let (_, loaded) = open(dir.path());
        assert_eq!(loaded, Some(snapshot(10)), "budget {budget}");
        assert_eq!(file_names(dir.path()), ["snap-00000000000000000010.snap"]);
    }
}

#[test]
fn the_bytes_of_a_snapshot_file_stay_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut store, _) = open(dir.path());
    let snapshot = Snapshot {
        index: 5,
        term: 2,
        data: b"state".to_vec(),
    };
    store.save(&snapshot).expect("save");
    let file = fs::read(dir.path().join("snap-00000000000000000005.snap")).expect("read");
    crate::wire::golden::assert_golden(
        &[file],
        &["1500000003d2cac9050000000000000002000000000000007374617465"],
    );
}
