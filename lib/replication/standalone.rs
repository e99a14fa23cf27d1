//! A single replica that applies every request at once, in arrival order.
//!
//! It is the replication layer with the protocol left out: the system runs
//! end to end with it, and Raft or the sequencer replace it without a change
//! to the services. When the cluster file lists several replicas, only
//! replica 0 serves; the others answer "not the leader, replica 0 is", which
//! is what a frontend already handles for Raft.

use std::sync::Mutex;

use super::{ReplicaStatus, ReplicationError, Replicator, ReplyTo, StateDigest, StateMachine};

/// Applies requests directly to one in-memory state machine.
pub struct Standalone<S: StateMachine> {
    index: usize,
    applied: Mutex<Applied<S>>,
}

struct Applied<S> {
    state: S,
    count: u64,
}

impl<S: StateMachine> Standalone<S> {
    /// Replica `index` of the cluster, starting from `state`.
    pub fn new(index: usize, state: S) -> Self {
        Standalone {
            index,
            applied: Mutex::new(Applied { state, count: 0 }),
        }
    }

    fn serves(&self) -> bool {
        self.index == 0
    }
}

impl<S: StateMachine> Replicator<S> for Standalone<S> {
    fn submit(&self, request: S::Request, reply: ReplyTo<S::Result>) {
        if !self.serves() {
            return reply(Err(ReplicationError::NotLeader { leader: Some(0) }));
        }
        let result = {
            // A panic while applying is a bug in the state machine; the
            // poisoned lock then stops this replica from serving a state
            // that may be half-changed.
            let mut applied = match self.applied.lock() {
                Ok(applied) => applied,
                Err(_) => {
                    return reply(Err(ReplicationError::Unavailable(
                        "state machine failed".into(),
                    )))
                }
            };
            let result = applied.state.apply(&request);
            if !S::is_read_only(&request) {
                applied.count += 1;
            }
            result
        };
        reply(Ok(result));
    }

    fn digest(&self) -> StateDigest {
        match self.applied.lock() {
            Ok(applied) => StateDigest::of(applied.count, &applied.state),
            Err(_) => StateDigest::default(),
        }
    }

    fn status(&self) -> ReplicaStatus {
        let count = self.applied.lock().map(|a| a.count).unwrap_or(0);
        ReplicaStatus {
            protocol: "standalone".into(),
            index: self.index,
            role: if self.serves() { "leader" } else { "standby" }.into(),
            leader: Some(0),
            commit_index: count,
            applied_index: count,
            ..ReplicaStatus::default()
        }
    }
}
