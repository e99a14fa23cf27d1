//! The file-system seam: every file operation of the storage layer goes
//! through the [`FileSystem`] trait, so that tests can swap the real disk for
//! one that fails.
//!
//! [`StdFileSystem`] is the real thing (std::fs plus the directory fsync that
//! std does not name). [`FaultyFileSystem`] wraps it for tests: it counts
//! fsyncs, can pretend to be a slow disk, and can "crash" after a given number
//! of bytes, keeping only the part of the write that fits (a torn write) and
//! failing every call after it, as a dead process would make none. A test
//! then reopens the directory with a healthy file system and checks what
//! recovery makes of the files left behind.
//!
//! What the fake crash cannot show: data that was written but not fsynced is
//! still in the page cache after it, so it survives. A real crash may lose it;
//! the recovery code does not rely on it either way. For the same reason the
//! real fsync adds nothing to such a test but time (milliseconds each), so
//! [`FaultyFileSystem::without_real_fsync`] counts fsyncs without doing them.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};

/// A file open for appending (a log segment) or for a first write (a temp file).
pub trait WritableFile: Send {
    /// Writes all of `bytes` at the end of the file.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable (fdatasync).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// The file operations the storage layer uses, and no others.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Creates `dir` and its parents if they are missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the entries in `dir` (names that are not UTF-8 are skipped:
    /// this layer never creates one).
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// The whole content of a file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates `path` empty (truncating any file of that name) for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Cuts the file to `len` bytes and makes the new length durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Removes a file. The removal is durable only after `sync_dir`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Renames a file, replacing `to` atomically. Durable after `sync_dir`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, removed, renamed files) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFileSystem;

/// A `std::fs::File` behind the `WritableFile` trait.
struct StdWritableFile(File);

impl WritableFile for StdWritableFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

impl FileSystem for StdFileSystem {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(StdWritableFile(file)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        // O_APPEND: every write lands at the current end, also after a truncate.
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(StdWritableFile(file)))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(len)?;
        // sync_all, not sync_data: the length is metadata.
        file.sync_all()
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        // On Linux a directory opened read-only can be fsynced; that is what
        // makes a creation, removal or rename survive a power cut.
        File::open(dir)?.sync_all()
    }
}

/// A test file system over real files that counts fsyncs, can be slow, and
/// can crash. Clones share one state, so a test keeps a clone to steer the
/// one it handed to the log.
#[derive(Clone, Debug, Default)]
pub struct FaultyFileSystem {
    state: Arc<Mutex<FaultState>>,
}

/// What the faulty file system has done and what it is told to do.
#[derive(Debug, Default)]
struct FaultState {
    /// Bytes that may still be written before the crash; `None`: no crash planned.
    write_budget: Option<u64>,
    /// Whether the crash has happened; every call fails from then on.
    crashed: bool,
    /// File and directory fsyncs done (including the one in `truncate`).
    syncs: u64,
    /// Bytes written to files.
    bytes_written: u64,
    /// Time each fsync takes on top of the real one (a slow disk).
    sync_latency: Duration,
    /// Whether fsyncs are only counted, not done.
    skip_real_fsync: bool,
    /// Writes longer than this wait halfway until the channel disconnects.
    stall: Option<(usize, Receiver<()>)>,
    /// Writes waiting on the stall now.
    stalled: u64,
}

/// Holds the writes [`FaultyFileSystem::stall_writes_over`] stalls; they go
/// on when it is dropped.
#[derive(Debug)]
pub struct WriteStall {
    _release: Sender<()>,
}

/// A file of the faulty file system: shares its state.
struct FaultyWritableFile {
    inner: StdWritableFile,
    state: Arc<Mutex<FaultState>>,
}

impl FaultyFileSystem {
    /// A faulty file system that, until told otherwise, behaves like the real one.
    pub fn new() -> FaultyFileSystem {
        FaultyFileSystem::default()
    }

    /// A faulty file system whose fsyncs are counted but not done: for tests
    /// that crash it, where the real fsync would only cost time.
    pub fn without_real_fsync() -> FaultyFileSystem {
        let fs = FaultyFileSystem::new();
        fs.lock().skip_real_fsync = true;
        fs
    }

    /// Crashes once `bytes` more bytes have been written: the write that
    /// crosses the limit keeps only its first bytes and fails.
    pub fn crash_after_bytes(&self, bytes: u64) {
        self.lock().write_budget = Some(bytes);
    }

    /// Crashes now: every later call fails.
    pub fn crash_now(&self) {
        self.lock().crashed = true;
    }

    /// Whether the crash has happened.
    pub fn has_crashed(&self) -> bool {
        self.lock().crashed
    }

    /// File and directory fsyncs done so far.
    pub fn sync_count(&self) -> u64 {
        self.lock().syncs
    }

    /// Bytes written to files so far.
    pub fn bytes_written(&self) -> u64 {
        self.lock().bytes_written
    }

    /// Makes every write of more than `bytes` bytes (a snapshot's: log
    /// appends are far smaller) write its first half, then wait until the
    /// returned [`WriteStall`] is dropped. The second half is written then,
    /// or fails if the file system crashed meanwhile: a process killed in
    /// the middle of writing a snapshot.
    pub fn stall_writes_over(&self, bytes: usize) -> WriteStall {
        let (release, released) = bounded(0);
        self.lock().stall = Some((bytes, released));
        WriteStall { _release: release }
    }

    /// How many writes wait on a [`WriteStall`] now.
    pub fn stalled_writes(&self) -> u64 {
        self.lock().stalled
    }

    /// Makes every fsync take `latency` longer, as on a slow disk.
    pub fn set_sync_latency(&self, latency: Duration) {
        self.lock().sync_latency = latency;
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        lock_state(&self.state)
    }

    /// Fails if the crash has happened.
    fn check_alive(&self) -> io::Result<()> {
        self.lock().check_alive()
    }

    /// Counts one fsync and waits for the simulated latency; says whether
    /// to do the real one.
    fn note_sync(&self) -> io::Result<bool> {
        note_sync(&self.state)
    }

    fn wrap(&self, inner: StdWritableFile) -> Box<dyn WritableFile> {
        Box::new(FaultyWritableFile {
            inner,
            state: Arc::clone(&self.state),
        })
    }
}

fn lock_state(state: &Mutex<FaultState>) -> MutexGuard<'_, FaultState> {
    // A panicking test thread may poison the lock; the counters stay usable.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn note_sync(state: &Mutex<FaultState>) -> io::Result<bool> {
    let (latency, real) = {
        let mut state = lock_state(state);
        state.check_alive()?;
        state.syncs += 1;
        (state.sync_latency, !state.skip_real_fsync)
    };
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    Ok(real)
}

impl FaultState {
    fn check_alive(&self) -> io::Result<()> {
        if self.crashed {
            return Err(io::Error::other("simulated crash: the process is dead"));
        }
        Ok(())
    }

    /// How many of `wanted` bytes may be written before the crash; marks the
    /// crash when that is fewer than wanted.
    fn admit(&mut self, wanted: usize) -> usize {
        let admitted = match self.write_budget {
            None => wanted,
            Some(budget) => {
                let admitted = budget.min(wanted as u64);
                self.write_budget = Some(budget - admitted);
                admitted as usize
            }
        };
        if admitted < wanted {
            self.crashed = true;
        }
        self.bytes_written += admitted as u64;
        admitted
    }
}

impl FaultyWritableFile {
    /// The stall a write of `len` bytes waits on, if one is planned; counts
    /// the write as waiting.
    fn stall_for(&self, len: usize) -> Option<Receiver<()>> {
        let mut state = lock_state(&self.state);
        let released = match &state.stall {
            Some((over, released)) if len > *over => released.clone(),
            _ => return None,
        };
        state.stalled += 1;
        Some(released)
    }

    fn write_admitted(&mut self, bytes: &[u8]) -> io::Result<()> {
        let admitted = {
            let mut state = lock_state(&self.state);
            state.check_alive()?;
            state.admit(bytes.len())
        };
        self.inner.write_all(&bytes[..admitted])?;
        if admitted < bytes.len() {
            return Err(io::Error::other("simulated crash in the middle of a write"));
        }
        Ok(())
    }
}

impl WritableFile for FaultyWritableFile {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some(released) = self.stall_for(bytes.len()) else {
            return self.write_admitted(bytes);
        };
        let (first, second) = bytes.split_at(bytes.len() / 2);
        let written = self.write_admitted(first);
        // Disconnected when the stall is dropped: never sent on.
        let _ = released.recv();
        lock_state(&self.state).stalled -= 1;
        written?;
        self.write_admitted(second)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        if note_sync(&self.state)? {
            self.inner.sync_data()?;
        }
        Ok(())
    }
}

impl FileSystem for FaultyFileSystem {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.check_alive()?;
        StdFileSystem.create_dir_all(dir)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.check_alive()?;
        StdFileSystem.list_dir(dir)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.check_alive()?;
        StdFileSystem.read(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.check_alive()?;
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(self.wrap(StdWritableFile(file)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.check_alive()?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(self.wrap(StdWritableFile(file)))
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        if self.note_sync()? {
            return StdFileSystem.truncate(path, len);
        }
        OpenOptions::new().write(true).open(path)?.set_len(len)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.check_alive()?;
        StdFileSystem.remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.check_alive()?;
        StdFileSystem.rename(from, to)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.note_sync()? {
            StdFileSystem.sync_dir(dir)?;
        }
        Ok(())
    }
}
