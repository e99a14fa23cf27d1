//! [`SnapshotSchedule`]: when a replica snapshots its state.
//!
//! A snapshot rewrites the whole state, so taking one every fixed number of
//! entries makes the snapshot work per request grow with the state, and the
//! total work quadratic as the state grows (docs/EVALUATION.md, "Scale").
//! So a snapshot is due once the log applied since the last one holds
//! [`SNAPSHOT_LOG_SHARE_PERCENT`] of that snapshot's bytes, and at least
//! [`SNAPSHOT_LOG_BYTES_MIN`]: its cost, amortised over the entries between
//! two snapshots, stays the same per byte of log at any size, and the log a
//! restart replays stays a fraction of the state.
//!
//! A fixed interval in entries (`snapshot_every`, the drivers' option and
//! the cluster file's key) stays as an upper bound: tests set it low to
//! snapshot often; by default it is far above what the byte rule gives.
//!
//! Replicas apply the same entries at about the same moment; snapshotting
//! together would make all of them write their whole state and fsync at
//! once on a disk they may share, a burst that stalls every other fsync
//! behind it (docs/EVALUATION.md, finding 6). So each rule has a phase per
//! replica: replica `i` of `n` takes its first byte-rule snapshot after a
//! start once `(i + 1) / n` of the threshold is applied, and every later one
//! a whole threshold after its last, so that under even load the replicas
//! keep those distances (the thresholds grow alike with the state); and its
//! entry bound falls at the indexes `k * every + every * i / n`.

use super::options::{SNAPSHOT_LOG_BYTES_MIN, SNAPSHOT_LOG_SHARE_PERCENT};

/// When one replica snapshots: its phase of both rules, and what it
/// applied since its last snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotSchedule {
    /// At most this many entries between two snapshots (at least 1).
    every: u64,
    /// This replica's offset into each interval of `every`.
    phase: u64,
    /// The index of the last snapshot taken, tried or installed.
    last_index: u64,
    /// Bytes of log applied since then.
    log_bytes: u64,
    /// The log bytes at which the next snapshot is due.
    log_bytes_due: u64,
}

impl SnapshotSchedule {
    /// The schedule of replica `replica` of `replicas`, with an entry bound
    /// of `every` (at least 1), starting from a snapshot of
    /// `snapshot_bytes` bytes at `snapshot_index` (0 and 0 without one).
    pub fn new(
        every: u64,
        (replica, replicas): (usize, usize),
        snapshot_index: u64,
        snapshot_bytes: u64,
    ) -> SnapshotSchedule {
        let every = every.max(1);
        let replicas = replicas.max(1) as u64;
        let replica = replica as u64 % replicas;
        // u128: `every` may be as large as u64::MAX.
        let phase = (u128::from(every) * u128::from(replica) / u128::from(replicas)) as u64;
        let full = log_bytes_due(snapshot_bytes);
        SnapshotSchedule {
            every,
            phase,
            last_index: snapshot_index,
            log_bytes: 0,
            log_bytes_due: (u128::from(full) * u128::from(replica + 1) / u128::from(replicas))
                as u64,
        }
    }

    /// Counts one applied entry of `bytes` bytes of log.
    pub fn applied(&mut self, bytes: u64) {
        self.log_bytes = self.log_bytes.saturating_add(bytes);
    }

    /// True when a replica that applied up to `applied` should snapshot.
    pub fn is_due(&self, applied: u64) -> bool {
        self.log_bytes >= self.log_bytes_due || applied >= self.next_after(self.last_index)
    }

    /// A snapshot of `snapshot_bytes` bytes at `index` was taken (handed to
    /// the writer: if its write fails, the next try is a whole interval
    /// later, and the log keeps everything meanwhile) or installed.
    pub fn taken(&mut self, index: u64, snapshot_bytes: u64) {
        self.last_index = index;
        self.log_bytes = 0;
        self.log_bytes_due = log_bytes_due(snapshot_bytes);
    }

    /// The index at which the entry bound falls next after a snapshot at
    /// `last`, at this replica's phase.
    pub fn next_after(&self, last: u64) -> u64 {
        if last < self.phase {
            return self.phase;
        }
        ((last - self.phase) / self.every)
            .saturating_mul(self.every)
            .saturating_add(self.every)
            .saturating_add(self.phase)
    }
}

/// The log bytes after which a snapshot of `snapshot_bytes` bytes is due
/// again: its share, and at least the minimum.
pub fn log_bytes_due(snapshot_bytes: u64) -> u64 {
    let share = u128::from(snapshot_bytes) * u128::from(SNAPSHOT_LOG_SHARE_PERCENT) / 100;
    (share.min(u128::from(u64::MAX)) as u64).max(SNAPSHOT_LOG_BYTES_MIN)
}

#[cfg(test)]
mod tests {
    use super::{log_bytes_due, SnapshotSchedule};
    use crate::driver_kit::{SNAPSHOT_LOG_BYTES_MIN, SNAPSHOT_LOG_SHARE_PERCENT};

    const MB: u64 = 1024 * 1024;
    /// A small request's bytes in the log.
    const ENTRY_BYTES: u64 = 200;

    /// The indexes at which `schedule` snapshots over `entries` entries of
    /// `ENTRY_BYTES` each, for a state of `state_bytes` bytes.
    fn points(schedule: &mut SnapshotSchedule, state_bytes: u64, entries: u64) -> Vec<u64> {
        let mut taken = Vec::new();
        for applied in 1..=entries {
            schedule.applied(ENTRY_BYTES);
            if schedule.is_due(applied) {
                taken.push(applied);
                schedule.taken(applied, state_bytes);
            }
        }
        taken
    }

    #[test]
    fn a_large_state_snapshots_after_its_share_of_log_not_every_n_entries() {
        // A 10 MB state, 100,000 entries of 200 bytes (20 MB of log), the
        // old fixed interval of 10,000 entries left as the upper bound:
        // that gave 10 snapshots; the share gives one per 5 MB of log, 3.
        let state = 10 * MB;
        let mut schedule = SnapshotSchedule::new(u64::MAX, (0, 1), 0, state);
        let share_only = points(&mut schedule, state, 100_000);
        let per_snapshot = (state * SNAPSHOT_LOG_SHARE_PERCENT / 100).div_ceil(ENTRY_BYTES);
        assert_eq!(share_only.len() as u64, 100_000 / per_snapshot);
        assert_eq!(share_only[0], per_snapshot);
        let mut bounded = SnapshotSchedule::new(10_000, (0, 1), 0, state);
        assert_eq!(points(&mut bounded, state, 100_000).len(), 10);
        let mut default = SnapshotSchedule::new(1_000_000, (0, 1), 0, state);
        assert_eq!(points(&mut default, state, 100_000), share_only);
    }

    #[test]
    fn a_tiny_state_still_snapshots_once_the_minimum_of_log_is_applied() {
        let mut schedule = SnapshotSchedule::new(u64::MAX, (0, 1), 0, 100);
        let taken = points(&mut schedule, 100, 100_000);
        let per_snapshot = SNAPSHOT_LOG_BYTES_MIN.div_ceil(ENTRY_BYTES);
        assert_eq!(taken.len() as u64, 100_000 / per_snapshot);
        // The log since the last snapshot never holds more than the minimum.
        let gaps = taken.windows(2).map(|pair| pair[1] - pair[0]);
        assert!(gaps.into_iter().all(|gap| gap == per_snapshot));
        assert_eq!(log_bytes_due(0), SNAPSHOT_LOG_BYTES_MIN);
    }

    #[test]
    fn replicas_take_their_byte_rule_snapshots_apart_and_keep_apart() {
        // Five replicas started together from the same 20 MB snapshot,
        // applying the same 1 KB entries while the state grows by the same.
        let state = 20 * MB;
        let all: Vec<Vec<u64>> = (0..5)
            .map(|i| {
                let mut schedule = SnapshotSchedule::new(u64::MAX, (i, 5), 0, state);
                let mut taken = Vec::new();
                for applied in 1..=200_000u64 {
                    schedule.applied(1024);
                    if schedule.is_due(applied) {
                        taken.push(applied);
                        schedule.taken(applied, state + applied * 1024);
                    }
                }
                taken
            })
            .collect();
        let threshold = state / 2 / 1024;
        assert_eq!(all[0][0], threshold / 5);
        assert_eq!(all[4][0], threshold);
        // No two within a tenth of the threshold of each other.
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                for x in a {
                    assert!(
                        b.iter().all(|y| x.abs_diff(*y) > threshold / 10),
                        "{a:?} {b:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn replicas_snapshot_at_their_own_phase_and_never_later_than_every() {
        let schedules: Vec<SnapshotSchedule> = (0..5)
            .map(|i| SnapshotSchedule::new(1000, (i, 5), 0, 0))
            .collect();
        let points = |schedule: &SnapshotSchedule| {
            let mut schedule = *schedule;
            let mut taken = Vec::new();
            for applied in 1..=3000 {
                schedule.applied(10);
                if schedule.is_due(applied) {
                    taken.push(applied);
                    schedule.taken(applied, 1000);
                }
            }
            taken
        };
        assert_eq!(points(&schedules[0]), vec![1000, 2000, 3000]);
        assert_eq!(points(&schedules[1]), vec![200, 1200, 2200]);
        assert_eq!(points(&schedules[4]), vec![800, 1800, 2800]);
        let all: Vec<Vec<u64>> = schedules.iter().map(points).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(a.iter().all(|point| !b.contains(point)), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn after_a_jump_the_next_snapshot_keeps_the_phase() {
        let mut schedule = SnapshotSchedule::new(1000, (2, 5), 0, 0);
        // A snapshot installed at 1234 (from a leader or a donor).
        schedule.taken(1234, 0);
        assert_eq!(schedule.next_after(1234), 1400);
        assert!(!schedule.is_due(1399));
        assert!(schedule.is_due(1400));
        schedule.taken(0, 0);
        assert!(schedule.is_due(5000), "far behind: due at once");
        // Degenerate inputs do not divide by zero or overflow.
        assert_eq!(SnapshotSchedule::new(0, (3, 0), 0, 0).next_after(7), 8);
        let unbounded = SnapshotSchedule::new(u64::MAX, (4, 5), 0, 0);
        assert!(!unbounded.is_due(1 << 40));
    }
}
