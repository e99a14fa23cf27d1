//! `HardStateFile`: the small state a replica must never forget, kept in
//! its own file and replaced atomically on every change.
//!
//! For Raft that is the current term and the vote (and, if the driver wants,
//! the commit index); for the sequencer, whatever small counters it keeps.
//! The bytes are opaque here: the caller encodes them. The file is
//! `<dir>/hard_state`, written with the protocol in atomic_file.rs, so a
//! reader sees the old state or the new one, never a mix, and a vote is
//! durable before `save` returns (and so before the vote is sent).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::atomic_file::{read_checked, recover_directory, write_atomically};
use super::errors::{WalError, WalResult};
use super::fs::FileSystem;

/// The largest hard state: it is meant to be a few numbers.
pub const HARD_STATE_BYTES_MAX: usize = 64 * 1024;

/// The file's name in its directory.
const HARD_STATE_FILE_NAME: &str = "hard_state";

/// The durable home of one replica's hard state.
#[derive(Debug)]
pub struct HardStateFile {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
}

impl HardStateFile {
    /// Opens the hard state in `dir` (creating the directory if needed) and
    /// returns the saved bytes: `None` if none were ever saved (use your
    /// default), `WalError::Corrupt` if the file fails its checksum (never a
    /// silent default: that could forget a vote). A temp file left by a crash
    /// before its rename is removed, and the directory is fsynced: a rename
    /// the previous process made but did not live to fsync becomes durable
    /// before anyone acts on the state it reads.
    pub fn open(
        dir: &Path,
        fs: Arc<dyn FileSystem>,
    ) -> WalResult<(HardStateFile, Option<Vec<u8>>)> {
        fs.create_dir_all(dir)
            .map_err(WalError::io("create", dir))?;
        recover_directory(fs.as_ref(), dir, |name| name == HARD_STATE_FILE_NAME)?;
        let file = HardStateFile {
            fs,
            dir: dir.to_path_buf(),
        };
        let state = read_checked(file.fs.as_ref(), &file.path(), HARD_STATE_BYTES_MAX)?;
        Ok((file, state))
    }

    /// The file's path.
    pub fn path(&self) -> PathBuf {
        self.dir.join(HARD_STATE_FILE_NAME)
    }

    /// Replaces the saved state with `state`, durably, before returning.
    pub fn save(&mut self, state: &[u8]) -> WalResult<()> {
        if state.len() > HARD_STATE_BYTES_MAX {
            let bytes = state.len();
            return Err(WalError::TooLarge {
                what: "hard state",
                bytes,
                max: HARD_STATE_BYTES_MAX,
            });
        }
        write_atomically(
            self.fs.as_ref(),
            &self.dir,
            HARD_STATE_FILE_NAME,
            |payload| payload.bytes(state),
        )
    }
}
