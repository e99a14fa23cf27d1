//! The hard state file: atomic replacement, crash leftovers, corruption.
//!
//! Method: save and reopen; plant the files a crash leaves (a partial temp
//! file) and the damage no crash explains (a flipped byte in the renamed
//! file); crash in the middle of a save with `FaultyFileSystem`.

use std::fs;
use std::sync::Arc;

use crate::wal::{FaultyFileSystem, HardStateFile, StdFileSystem, WalError, HARD_STATE_BYTES_MAX};

fn open(dir: &std::path::Path) -> (HardStateFile, Option<Vec<u8>>) {
    HardStateFile::open(dir, Arc::new(StdFileSystem)).expect("open")
}

#[test]
fn missing_means_none_and_saves_replace_each_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut file, state) = open(dir.path());
    assert_eq!(state, None);
    file.save(b"term 1 vote 2").expect("save");
    file.save(b"term 3 vote none").expect("save");
    drop(file);
    let (_, state) = open(dir.path());
    assert_eq!(state.as_deref(), Some(&b"term 3 vote none"[..]));
}

#[test]
fn a_leftover_temp_file_is_ignored_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut file, _) = open(dir.path());
    file.save(b"the durable state").expect("save");
    let temp = dir.path().join("hard_state.tmp");
    fs::write(&temp, b"half of a new st").expect("plant a crash leftover");
    let (_, state) = open(dir.path());
    assert_eq!(state.as_deref(), Some(&b"the durable state"[..]));
    assert!(!temp.exists());
}

#[test]
fn a_corrupt_file_is_an_error_not_a_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut file, _) = open(dir.path());
    file.save(b"term 7 vote 1").expect("save");
    let path = file.path();
    let mut bytes = fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x20;
    fs::write(&path, &bytes).expect("damage");
    let error = HardStateFile::open(dir.path(), Arc::new(StdFileSystem)).expect_err("corrupt");
    assert!(matches!(error, WalError::Corrupt { .. }), "{error}");

    fs::write(&path, &bytes[..5]).expect("cut short");
    let error = HardStateFile::open(dir.path(), Arc::new(StdFileSystem)).expect_err("corrupt");
    assert!(matches!(error, WalError::Corrupt { .. }), "{error}");
}

#[test]
fn a_crash_in_the_middle_of_a_save_keeps_the_old_state() {
    for budget in [0, 1, 7, 12, 20] {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs = FaultyFileSystem::new();
        let (mut file, _) = HardStateFile::open(dir.path(), Arc::new(fs.clone())).expect("open");
        file.save(b"old state").expect("save");
        fs.crash_after_bytes(budget);
        assert!(file.save(b"a new, longer state").is_err());
        let (_, state) = open(dir.path());
        assert_eq!(state.as_deref(), Some(&b"old state"[..]), "budget {budget}");
    }
}

#[test]
fn an_oversized_state_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut file, _) = open(dir.path());
    let error = file
        .save(&vec![0; HARD_STATE_BYTES_MAX + 1])
        .expect_err("too large");
    assert!(matches!(error, WalError::TooLarge { .. }), "{error}");
}

#[test]
fn the_bytes_of_the_hard_state_file_stay_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut file, _) = open(dir.path());
    file.save(b"hs").expect("save");
    let bytes = fs::read(file.path()).expect("read");
    crate::wire::golden::assert_golden(&[bytes], &["02000000d6d3f1256873"]);
}
