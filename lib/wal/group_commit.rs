//! `GroupCommitter`: one storage-writer thread ("wal-writer") that owns the
//! `Wal` and lets many writes share one fsync.
//!
//! An fsync costs about as much for one entry as for a thousand. So the
//! writer does not sync per request: it blocks for the first job, then takes
//! every job already queued (up to `GROUP_COMMIT_BATCH_JOBS_MAX`), runs them
//! in queue order, fsyncs once, and only then answers each waiter. While it
//! waits on the disk, new jobs pile up and form the next batch, so under load
//! batches grow by themselves and under no load a lone job is not delayed.
//!
//! Jobs are appends, suffix truncations and prefix compactions, run strictly
//! in the order they were queued; that order is the caller's responsibility
//! (the node driver submits from its one core loop). A waiter is answered
//! only after the batch's fsync, so `Ok` always means durable. After an I/O
//! error the `Wal` is unusable and every later job fails (`Unusable`).

use std::io;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{bounded, Receiver, Sender};

use super::errors::{WalError, WalResult};
use super::log::Wal;

/// Jobs that may wait in the queue; `submit` blocks when it is full, which
/// slows producers down to the disk's pace.
pub const GROUP_COMMIT_QUEUE_MAX: usize = 1024;

/// Jobs that one batch (one fsync) takes at most, so that a batch's waiters
/// are answered in bounded time even under a flood of submissions.
pub const GROUP_COMMIT_BATCH_JOBS_MAX: usize = 1024;

/// Where a job's outcome arrives: `Ok(())` once it is durable.
pub type Completion = Receiver<WalResult<()>>;

/// What a job does to the log.
enum Operation {
    Append(Vec<(u64, Vec<u8>)>),
    TruncateFrom(u64),
    CompactTo(u64),
}

/// One queued job and the channel its waiter listens on.
struct Job {
    operation: Operation,
    done: Sender<WalResult<()>>,
}

/// The handle to the writer thread. Dropping it (or `close`) lets the
/// writer finish the queued jobs and stop.
pub struct GroupCommitter {
    jobs: Option<Sender<Job>>,
    writer: Option<JoinHandle<Wal>>,
}

impl GroupCommitter {
    /// Starts the "wal-writer" thread, which owns `wal` until `close`.
    pub fn spawn(wal: Wal) -> io::Result<GroupCommitter> {
        let (jobs, queue) = bounded(GROUP_COMMIT_QUEUE_MAX);
        let writer = thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || run_writer(wal, queue))?;
        Ok(GroupCommitter {
            jobs: Some(jobs),
            writer: Some(writer),
        })
    }

    /// Queues `entries` for appending; the completion says when they are durable.
    pub fn submit(&self, entries: Vec<(u64, Vec<u8>)>) -> Completion {
        self.enqueue(Operation::Append(entries))
    }

    /// Queues `Wal::truncate_from(index)` behind the jobs already queued.
    pub fn truncate_from(&self, index: u64) -> Completion {
        self.enqueue(Operation::TruncateFrom(index))
    }

    /// Queues `Wal::compact_to(index)` behind the jobs already queued.
    pub fn compact_to(&self, index: u64) -> Completion {
        self.enqueue(Operation::CompactTo(index))
    }

    /// Waits for every queued job, stops the writer and hands the log back.
    ///
    /// # Panics
    /// If the writer thread panicked (a bug), with its panic.
    pub fn close(mut self) -> Wal {
        self.stop().expect("the writer runs until close")
    }

    fn enqueue(&self, operation: Operation) -> Completion {
        // Capacity 1: the writer sends exactly one outcome, never blocking.
        let (done, completion) = bounded(1);
        let jobs = self.jobs.as_ref().expect("jobs is taken only by stop");
        if let Err(refused) = jobs.send(Job { operation, done }) {
            let _ = refused.into_inner().done.send(Err(WalError::WriterStopped));
        }
        completion
    }

    /// Closes the queue and joins the writer.
    fn stop(&mut self) -> Option<Wal> {
        drop(self.jobs.take());
        let writer = self.writer.take()?;
        match writer.join() {
            Ok(wal) => Some(wal),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        // Not while unwinding: a second panic would abort.
        if !thread::panicking() {
            self.stop();
        }
    }
}

/// The writer thread: batch, run, one fsync, answer; until the queue closes.
fn run_writer(mut wal: Wal, queue: Receiver<Job>) -> Wal {
    let mut batch = Vec::with_capacity(GROUP_COMMIT_BATCH_JOBS_MAX);
    while let Ok(first) = queue.recv() {
        batch.push(first);
        while batch.len() < GROUP_COMMIT_BATCH_JOBS_MAX {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut wal, &mut batch);
    }
    wal
}

/// Runs the batch's jobs in order, fsyncs once if anything was appended,
/// then answers every waiter.
fn commit_batch(wal: &mut Wal, batch: &mut Vec<Job>) {
    let outcomes: Vec<WalResult<()>> = batch.iter().map(|job| run(wal, &job.operation)).collect();
    let appended = batch
        .iter()
        .zip(&outcomes)
        .any(|(job, outcome)| matches!(job.operation, Operation::Append(_)) && outcome.is_ok());
    let synced = if appended { wal.sync() } else { Ok(()) };
    for (job, outcome) in batch.drain(..).zip(outcomes) {
        // A waiter that gave up has dropped its receiver; nothing to do then.
        let _ = job.done.send(outcome.and_then(|()| synced.clone()));
    }
}

fn run(wal: &mut Wal, operation: &Operation) -> WalResult<()> {
    match operation {
        Operation::Append(entries) => wal.append(entries),
        Operation::TruncateFrom(index) => wal.truncate_from(*index),
        Operation::CompactTo(index) => wal.compact_to(*index),
    }
}
