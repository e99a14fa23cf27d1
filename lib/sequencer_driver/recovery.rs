//! Start-up: rebuild the member and the application state from the data
//! directory, exactly as they were durably.
//!
//! 1. The newest snapshot (`snapshots/`, a `wal::SnapshotStore`) holds an
//!    [`Image`]: the application state and the [`SnapshotPoint`] it covers.
//!    None means a first start: the caller's initial state at the group start.
//! 2. The log (`log/`, a `wal::Wal`, torn tail cut) is replayed into a
//!    `PersistedState` (see `storage.rs`).
//! 3. `Member::restore(config, persisted, point)` checks that the two fit
//!    (the snapshot is never behind what the log forgot: a `Base` record is
//!    written only after the snapshot that covers it is durable) and
//!    re-delivers what the log holds beyond the snapshot once a majority is
//!    heard from. A snapshot ahead of the log (an installed state transfer
//!    whose `Base` record was lost in a crash) is taken as is. An empty log
//!    (a first start, or a replaced disk) starts `Member::recover` instead:
//!    the member asks the group before it takes part, and starts a new
//!    group only if every other member is new too.
//!
//! Catching up with the peers is the running driver's job (see
//! `catch_up.rs`).

use std::sync::Arc;

use log::{info, warn};

use crate::replication::StateMachine;
use crate::sequencer::{Member, SnapshotPoint};
use crate::wal::{SnapshotStore, Wal, WalOptions};

use super::errors::DriverError;
use super::image::Image;
use super::options::SequencerOptions;
use super::storage::{replay, SequencerStorage};

/// The sub-directory of the data directory that holds the log.
pub const LOG_DIR: &str = "log";
/// The sub-directory of the data directory that holds the snapshots.
pub const SNAPSHOT_DIR: &str = "snapshots";

/// Everything a restarted member runs from.
pub struct Recovered<S> {
    /// The protocol core, restored.
    pub(super) member: Member,
    /// The log, open for appending.
    pub(super) storage: SequencerStorage,
    /// The snapshot store, for the apply thread.
    pub(super) snapshots: SnapshotStore,
    /// The application state and the point it covers.
    pub(super) state: S,
    /// See `state`.
    pub(super) applied: SnapshotPoint,
    /// The newest image on disk, to serve to peers.
    pub(super) image: Option<Arc<Image>>,
}

/// Recovers member `options.replica.index` from `options.replica.data_dir`; `initial` is
/// the application state of a first start.
pub(super) fn recover<S: StateMachine>(
    options: &SequencerOptions,
    initial: S,
) -> Result<Recovered<S>, DriverError> {
    let members = options.members();
    let snapshot_dir = options.replica.data_dir.join(SNAPSHOT_DIR);
    let (snapshots, stored) = SnapshotStore::open(&snapshot_dir, Arc::clone(&options.replica.fs))?;
    let (state, applied, image) = match stored {
        None => (initial, SnapshotPoint::start(members), None),
        Some(stored) => {
            let image = Image::decode(stored.data)
                .map_err(|error| DriverError::corrupt("snapshot")(error.to_string()))?;
            check_image(&image, stored.index, members)?;
            let state = S::restore(image.app()).map_err(DriverError::corrupt("snapshot"))?;
            (state, image.point.clone(), Some(Arc::new(image)))
        }
    };
    let wal_options = WalOptions {
        segment_bytes_max: options.replica.log_segment_bytes,
        fs: Arc::clone(&options.replica.fs),
    };
    let (wal, log) = Wal::open(&options.replica.data_dir.join(LOG_DIR), wal_options)?;
    if let Some(torn) = &log.torn_tail {
        warn!(
            "sequencer {}: cut a torn log tail in {} at {} ({} bytes: {})",
            options.replica.index,
            torn.path.display(),
            torn.offset,
            torn.bytes_cut,
            torn.reason
        );
    }
    let persisted = replay(&log.entries, members)?;
    info!(
        "sequencer {}: snapshot at {}, log of {} records ({} sequences and {} requests held)",
        options.replica.index,
        applied.global,
        log.entries.len(),
        persisted.sequences.len(),
        persisted.requests.len()
    );
    let config = options.sequencer_config();
    let member = if log.entries.is_empty() {
        // No log at all: a first start, or a disk that was replaced. The
        // member asks the group which before it takes part (`Member::recover`).
        info!(
            "sequencer {}: the log is empty; asking the group whether it is new",
            options.replica.index
        );
        Member::recover(config, applied.clone())?
    } else {
        Member::restore(config, persisted, applied.clone())?
    };
    Ok(Recovered {
        member,
        storage: SequencerStorage::new(wal, options.log_rewrite_records),
        snapshots,
        state,
        applied,
        image,
    })
}

/// The stored image must be the one its file name says, for this group.
fn check_image(image: &Image, index: u64, members: u16) -> Result<(), DriverError> {
    if image.global().0 != index {
        return Err(DriverError::corrupt("snapshot")(format!(
            "snapshot file {index} holds an image at {}",
            image.global()
        )));
    }
    if image.point.delivered_local.len() != usize::from(members) {
        return Err(DriverError::corrupt("snapshot")(format!(
            "snapshot for a group of {}, this group has {members}",
            image.point.delivered_local.len()
        )));
    }
    Ok(())
}
