//! [`Lifecycle`]: where a replica is in its life, and [`LifecycleCell`],
//! the one place every thread and `submit` read and move it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Where a replicator is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Recovered and running (the protocol says whether it takes requests).
    Running,
    /// `shutdown` or `crash` was called; the threads are stopping and
    /// requests are refused.
    Stopping,
    /// Every thread has ended.
    Stopped,
    /// Storage failed (or a snapshot could not be loaded): the replica
    /// stopped taking part, since it can no longer keep its protocol's
    /// promises about what is durable.
    Failed,
}

/// The lifecycle, shared by the threads of one replica.
#[derive(Debug)]
pub struct LifecycleCell {
    /// Behind a lock rather than in an atomic so that `submit` can hold it
    /// (shared) while it queues a request: once a writer has moved the
    /// replica out of `Running`, no request can be queued after, and the
    /// core answers every one queued before as it stops.
    state: RwLock<Lifecycle>,
    /// Set by `crash` before the threads are told to stop: they then stop
    /// where they are, with no last apply and no last snapshot.
    crashing: AtomicBool,
}

impl Default for LifecycleCell {
    fn default() -> Self {
        LifecycleCell::new()
    }
}

impl LifecycleCell {
    /// A running replica.
    pub fn new() -> LifecycleCell {
        LifecycleCell {
            state: RwLock::new(Lifecycle::Running),
            crashing: AtomicBool::new(false),
        }
    }

    /// Where the replicator is in its life.
    pub fn get(&self) -> Lifecycle {
        *self.admit()
    }

    /// The lifecycle, held (shared) until the guard drops: while a caller
    /// holds it, the replica cannot leave `Running`.
    pub fn admit(&self) -> RwLockReadGuard<'_, Lifecycle> {
        // Held only to read or write a plain value; never poisoned mid-write.
        self.state
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the start of a stop (`Running` to `Stopping`); a crash also
    /// tells the threads to stop wherever they are, without finishing
    /// their work.
    pub fn begin_stop(&self, crash: bool) {
        if crash {
            self.crashing.store(true, Ordering::Release);
        }
        let mut state = self.write();
        if *state == Lifecycle::Running {
            *state = Lifecycle::Stopping;
        }
    }

    /// Whether the stop under way is a crash.
    pub fn is_crashing(&self) -> bool {
        self.crashing.load(Ordering::Acquire)
    }

    /// The threads are gone (a failure stays a failure).
    pub fn set_stopped(&self) {
        let mut state = self.write();
        if *state != Lifecycle::Failed {
            *state = Lifecycle::Stopped;
        }
    }

    /// Storage failed: the replica stops taking part, whatever it was doing.
    pub fn fail(&self) {
        *self.write() = Lifecycle::Failed;
    }

    /// Moves to `Failed` if still `Running` (a stop under way stays one).
    pub fn fail_if_running(&self) {
        let mut state = self.write();
        if *state == Lifecycle::Running {
            *state = Lifecycle::Failed;
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, Lifecycle> {
        self.state
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
