//! [`SnapshotWriter`]: the thread whose one job is writing snapshot files
//! ("raft-snapshot-writer", "sequencer-snapshot-writer"), so that the apply
//! thread does not stand still while a whole state is written and fsynced.
//!
//! The apply thread encodes the state (it owns the state, and the encoding
//! must see it between two entries), hands the bytes over and goes on
//! applying. The writer saves them (`SnapshotStore::save_data`: a temp file,
//! its fsync, the rename, the directory's fsync) and reports on its
//! `written` channel. Only on that report does the apply thread let the
//! protocol forget the history the snapshot covers (Raft compacts its log;
//! the sequencer publishes `applied_durably`, which lets the core write a
//! `Base` record). A crash before the report loses nothing: the log still
//! holds every entry the snapshot covers, and a restart loads the snapshot
//! before it and replays them.
//!
//! [`SnapshotWriter::take`] is the apply thread's whole step, the same in
//! both drivers: whether one is due, the timed encoding, the schedule told,
//! the hand-over. A driver gives it only its encoding (Raft's state machine
//! bytes; the sequencer's image of the state and the point it covers).
//!
//! One snapshot at a time (a channel of 1): while one is being written, a
//! snapshot that falls due is skipped, not queued or waited for, and taken
//! once the write is reported (the schedule stays due). Waiting would put
//! the apply thread back behind the disk; queueing would encode a second
//! whole state, in time and memory, only for it to wait behind the first.
//! The log keeps what a skipped snapshot would have let go meanwhile.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, never, Receiver, RecvError, Sender};
use log::{error, info};

use crate::wal::{SnapshotStore, WalError};

use super::errors::{DriverError, RestoreError};
use super::snapshot_schedule::SnapshotSchedule;
use super::threads::Threads;

/// The snapshot store, shared by the snapshot writer and whoever else saves
/// snapshots (Raft's core, a leader's; the sequencer's apply thread, a
/// fetched image).
pub type SharedSnapshots = Arc<Mutex<SnapshotStore>>;

/// Locks the shared snapshot store.
pub fn lock_snapshots(snapshots: &SharedSnapshots) -> MutexGuard<'_, SnapshotStore> {
    // A panic while saving leaves the store's files whole (atomic renames),
    // and its one field is set only after a save succeeded.
    snapshots
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a driver hands the writer: an encoded snapshot, whose bytes the
/// writer saves and hands back with the report.
pub trait SnapshotImage: Send + 'static {
    /// The data of the snapshot file.
    fn data(&self) -> &[u8];
}

impl SnapshotImage for Vec<u8> {
    fn data(&self) -> &[u8] {
        self
    }
}

/// One snapshot to write.
#[derive(Debug)]
pub struct SnapshotJob<I> {
    /// The last entry (or delivery) the snapshot covers.
    pub index: u64,
    /// That entry's term (0 without terms).
    pub term: u64,
    /// The encoded state.
    pub image: I,
    /// How long the apply thread took to encode it.
    pub encoded_in: Duration,
}

/// How a write ended.
#[derive(Debug)]
pub enum WriteOutcome {
    /// The file is durable: the history it covers may be forgotten.
    Durable,
    /// The store already held a snapshot at or past this one's index (a
    /// leader's, or a fetched image): nothing was written.
    Superseded,
    /// The write failed (a full disk, a state past the snapshot limit); the
    /// older snapshot is still the one on disk.
    Failed(WalError),
}

/// The writer's report on one job.
#[derive(Debug)]
pub struct SnapshotWritten<I> {
    /// The job, its image handed back.
    pub job: SnapshotJob<I>,
    /// How it ended.
    pub outcome: WriteOutcome,
    /// How long the write took (file, fsyncs, rename).
    pub written_in: Duration,
}

impl<I: SnapshotImage> SnapshotWritten<I> {
    /// Logs the line `bench --scale` reads (lib/bench/lifecycle.rs) for a
    /// durable snapshot of replica `who`.
    pub fn log_durable(&self, who: &str, index: impl std::fmt::Display) {
        info!(
            "{who}: snapshot at {index}: {} bytes, encoded in {:.1} ms, written in {:.1} ms",
            self.job.image.data().len(),
            self.job.encoded_in.as_secs_f64() * 1000.0,
            self.written_in.as_secs_f64() * 1000.0
        );
    }
}

/// When [`SnapshotWriter::take`] takes a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// Only if the schedule says one is due and none is being written: a
    /// due one waits for the write under way (after each apply, and once
    /// that write is reported).
    IfDue,
    /// Now, due or not (a clean stop's last snapshot); call only when none
    /// is being written.
    Now,
}

/// The apply thread's end of the snapshot writer.
pub struct SnapshotWriter<I> {
    /// Jobs for the writer thread: at most one, never waited on.
    jobs: Sender<SnapshotJob<I>>,
    /// The writer's reports; `never()` once the writer is gone.
    written: Receiver<SnapshotWritten<I>>,
    /// The index being written, if one is.
    writing: Option<u64>,
}

impl<I: SnapshotImage> SnapshotWriter<I> {
    /// Starts thread `name`, which writes into `store` until this end is
    /// dropped (it finishes the write under way first).
    pub fn spawn<E: RestoreError>(
        threads: &mut Threads,
        name: &str,
        store: SharedSnapshots,
    ) -> Result<SnapshotWriter<I>, DriverError<E>> {
        let (jobs, queued) = bounded(1);
        // One report at most waits: a job is handed over only once the
        // last report was taken, so the writer never blocks on this.
        let (reports, written) = bounded(1);
        threads.spawn(name, move || write_jobs(&store, &queued, &reports))?;
        Ok(SnapshotWriter {
            jobs,
            written,
            writing: None,
        })
    }

    /// True while a snapshot is being written.
    pub fn is_writing(&self) -> bool {
        self.writing.is_some()
    }

    /// Takes a snapshot of the state applied up to `index` (of `term`; 0
    /// without terms), [`Take::IfDue`] or [`Take::Now`]: `encode` makes its
    /// image (the apply thread waits for the encoding only, timed for the
    /// log), `schedule` counts it taken (if its write fails, the next try
    /// is a whole interval later, and the log keeps everything meanwhile),
    /// and the writer gets it. True if it was handed over; false if it was
    /// not due, or the writer is gone.
    pub fn take(
        &mut self,
        when: Take,
        schedule: &mut SnapshotSchedule,
        (index, term): (u64, u64),
        encode: impl FnOnce() -> I,
    ) -> bool {
        if when == Take::IfDue && (self.is_writing() || !schedule.is_due(index)) {
            return false;
        }
        let started = Instant::now();
        let image = encode();
        let encoded_in = started.elapsed();
        schedule.taken(index, image.data().len() as u64);
        self.hand_over(SnapshotJob {
            index,
            term,
            image,
            encoded_in,
        })
    }

    /// Hands `job` to the writer; call only when it is not writing. False
    /// if the writer is gone (it panicked): no snapshot is written any more,
    /// and the log keeps everything.
    fn hand_over(&mut self, job: SnapshotJob<I>) -> bool {
        assert!(self.writing.is_none(), "a snapshot is being written");
        let index = job.index;
        if self.jobs.try_send(job).is_err() {
            error!("snapshot writer: gone; snapshot at {index} not written");
            return false;
        }
        self.writing = Some(index);
        true
    }

    /// The channel the writer reports on, for the apply thread's `select!`;
    /// pass what it received to [`SnapshotWriter::received`].
    pub fn written(&self) -> &Receiver<SnapshotWritten<I>> {
        &self.written
    }

    /// Takes what the `written` channel gave: the report, or `None` once
    /// the writer is gone (then the channel is never ready again).
    pub fn received(
        &mut self,
        report: Result<SnapshotWritten<I>, RecvError>,
    ) -> Option<SnapshotWritten<I>> {
        self.writing = None;
        match report {
            Ok(report) => Some(report),
            Err(RecvError) => {
                error!("snapshot writer: gone; no more snapshots are written");
                self.written = never();
                None
            }
        }
    }

    /// Waits for the write under way, if any, and returns its report (a
    /// clean stop, or a snapshot that must not be reordered with it).
    pub fn wait(&mut self) -> Option<SnapshotWritten<I>> {
        self.writing?;
        let report = self.written.recv();
        self.received(report)
    }
}

/// The writer thread's body: each job saved, then reported. Ends when the
/// apply thread's end is dropped, or gone before a report.
fn write_jobs<I: SnapshotImage>(
    store: &SharedSnapshots,
    jobs: &Receiver<SnapshotJob<I>>,
    reports: &Sender<SnapshotWritten<I>>,
) {
    for job in jobs.iter() {
        let started = Instant::now();
        let outcome = write(store, &job);
        let report = SnapshotWritten {
            job,
            outcome,
            written_in: started.elapsed(),
        };
        if reports.send(report).is_err() {
            return;
        }
    }
}

/// Saves one job unless the store is already past it.
fn write<I: SnapshotImage>(store: &SharedSnapshots, job: &SnapshotJob<I>) -> WriteOutcome {
    let mut store = lock_snapshots(store);
    if store
        .latest_index()
        .is_some_and(|latest| latest >= job.index)
    {
        return WriteOutcome::Superseded;
    }
    match store.save_data(job.index, job.term, job.image.data()) {
        Ok(()) => WriteOutcome::Durable,
        Err(error) => WriteOutcome::Failed(error),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tempfile::TempDir;

    use super::{SnapshotJob, SnapshotWriter, Take, WriteOutcome};
    use crate::driver_kit::{SnapshotSchedule, Threads};
    use crate::raft::RaftError;
    use crate::wal::{FaultyFileSystem, SnapshotStore};

    fn job(index: u64, data: &[u8]) -> SnapshotJob<Vec<u8>> {
        SnapshotJob {
            index,
            term: 1,
            image: data.to_vec(),
            encoded_in: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn a_write_is_reported_durable_superseded_or_failed_and_one_at_a_time() {
        let dir = TempDir::new().expect("temp dir");
        let disk = FaultyFileSystem::without_real_fsync();
        let (store, _) = SnapshotStore::open(dir.path(), Arc::new(disk.clone())).expect("open");
        let store = Arc::new(Mutex::new(store));
        let (mut threads, _stop) = Threads::new();
        let mut writer: SnapshotWriter<Vec<u8>> =
            SnapshotWriter::spawn::<RaftError>(&mut threads, "test-writer", Arc::clone(&store))
                .expect("spawn");
        assert!(writer.hand_over(job(10, b"ten")));
        assert!(writer.is_writing());
        let report = writer.wait().expect("a report");
        assert!(!writer.is_writing());
        assert!(matches!(report.outcome, WriteOutcome::Durable));
        assert_eq!(report.job.image, b"ten");
        assert!(writer.hand_over(job(10, b"again")));
        let report = writer.wait().expect("a report");
        assert!(matches!(report.outcome, WriteOutcome::Superseded));
        disk.crash_after_bytes(10);
        assert!(writer.hand_over(job(20, b"twenty, torn in the middle")));
        let report = writer.wait().expect("a report");
        assert!(matches!(report.outcome, WriteOutcome::Failed(_)));
        drop(writer);
        threads.stop_and_join();
        let (_, newest) =
            SnapshotStore::open(dir.path(), Arc::new(FaultyFileSystem::new())).expect("reopen");
        let newest = newest.expect("the older snapshot");
        assert_eq!((newest.index, newest.data), (10, b"ten".to_vec()));
    }

    #[test]
    fn a_due_snapshot_is_encoded_scheduled_and_written_and_one_at_a_time() {
        let dir = TempDir::new().expect("temp dir");
        let disk = FaultyFileSystem::without_real_fsync();
        let (store, _) = SnapshotStore::open(dir.path(), Arc::new(disk)).expect("open");
        let (mut threads, _stop) = Threads::new();
        let mut writer: SnapshotWriter<Vec<u8>> = SnapshotWriter::spawn::<RaftError>(
            &mut threads,
            "test-writer",
            Arc::new(Mutex::new(store)),
        )
        .expect("spawn");
        let mut schedule = SnapshotSchedule::new(10, (0, 1), 0, 0);
        let not_due = writer.take(Take::IfDue, &mut schedule, (9, 1), || unreachable!());
        assert!(!not_due, "not due: nothing is encoded");
        assert!(writer.take(Take::IfDue, &mut schedule, (10, 2), || b"ten".to_vec()));
        assert!(!schedule.is_due(10), "counted taken");
        let writing = writer.take(Take::IfDue, &mut schedule, (20, 2), || unreachable!());
        assert!(!writing, "due, but one is being written");
        let report = writer.wait().expect("a report");
        assert!(matches!(report.outcome, WriteOutcome::Durable));
        assert_eq!((report.job.index, report.job.term), (10, 2));
        assert!(writer.take(Take::Now, &mut schedule, (11, 2), || b"eleven".to_vec()));
        assert_eq!(writer.wait().expect("a report").job.image, b"eleven");
        drop(writer);
        threads.stop_and_join();
    }
}
