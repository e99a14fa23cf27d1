//! [`Image`]: a snapshot of the application state together with the
//! [`SnapshotPoint`] it stands for, as one byte string. The same bytes are
//! the data of the snapshot file (`wal::SnapshotStore`) and what a donor
//! ships in chunks during a state transfer, so a fetched image is stored
//! exactly as it arrived.
//!
//! ```text
//! image = magic "SI" | version u8 = 1 | global u64 | senders u16 (<= MEMBERS_MAX)
//!       | senders x delivered_local u64 | app_len u64 | app bytes | crc32 u32
//! ```
//! (Magic and version: `wire::formats::SNAPSHOT_IMAGE`.) The CRC covers
//! every byte before it: the snapshot file has its own, but
//! an image assembled from chunks does not, and a mix-up of two donors'
//! chunks must not be installed.
//!
//! [`LatestImage`] is the slot where the apply thread leaves its newest
//! durable image for the state-transfer thread to serve.

use std::sync::{Arc, Mutex};

use crate::driver_kit::SnapshotImage;
use crate::sequencer::{DecodeError, GlobalSeq, LocalSeq, SnapshotPoint, MEMBERS_MAX};

use crate::wire::formats::SNAPSHOT_IMAGE;
use crate::wire::{check_count, Reader, Writer};

/// Room to reserve for the fields besides the application state.
const FIELDS_BYTES: usize = 64;

/// A snapshot image: the point and the application state, encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Image {
    /// What the application state covers.
    pub(super) point: SnapshotPoint,
    /// The whole encoded image.
    pub(super) bytes: Vec<u8>,
    /// Where the application state starts in `bytes`.
    app_start: usize,
    /// Its length.
    app_len: usize,
}

impl Image {
    /// Encodes the application state `app` taken at `point`.
    pub(super) fn encode(point: SnapshotPoint, app: &[u8]) -> Image {
        assert!(
            point.delivered_local.len() <= usize::from(MEMBERS_MAX),
            "a snapshot point for {} senders",
            point.delivered_local.len()
        );
        let mut writer = Writer::with_header(SNAPSHOT_IMAGE, app.len() + FIELDS_BYTES);
        writer.u64(point.global.0);
        writer.u16(point.delivered_local.len() as u16);
        for local in &point.delivered_local {
            writer.u64(local.0);
        }
        writer.u64(app.len() as u64);
        let app_start = writer.len();
        writer.bytes(app);
        Image {
            point,
            bytes: writer.finish_with_crc32(),
            app_start,
            app_len: app.len(),
        }
    }

    /// Decodes an image, checking its checksum and every length.
    pub(super) fn decode(bytes: Vec<u8>) -> Result<Image, DecodeError> {
        let (point, app_start, app_len) = Image::parse(&bytes)?;
        Ok(Image {
            point,
            bytes,
            app_start,
            app_len,
        })
    }

    /// The last global number the image covers.
    pub(super) fn global(&self) -> GlobalSeq {
        self.point.global
    }

    /// The application state's bytes (what `StateMachine::snapshot` wrote).
    pub(super) fn app(&self) -> &[u8] {
        &self.bytes[self.app_start..self.app_start + self.app_len]
    }

    fn parse(bytes: &[u8]) -> Result<(SnapshotPoint, usize, usize), DecodeError> {
        let mut reader = Reader::open_checksummed(bytes, SNAPSHOT_IMAGE)?;
        let global = GlobalSeq(reader.u64()?);
        let senders = reader.count("senders", usize::from(MEMBERS_MAX))?;
        let mut delivered_local = Vec::with_capacity(senders);
        for _ in 0..senders {
            delivered_local.push(LocalSeq(reader.u64()?));
        }
        let app_len = reader.u64()?;
        check_count("application bytes", app_len, reader.remaining() as u64)?;
        let app_start = reader.position();
        reader.take(app_len as usize)?;
        reader.finish()?;
        let point = SnapshotPoint {
            global,
            delivered_local,
        };
        Ok((point, app_start, app_len as usize))
    }
}

/// The snapshot writer writes an image's bytes as they are, shared with
/// the apply thread, which publishes the same image once it is durable.
impl SnapshotImage for Arc<Image> {
    fn data(&self) -> &[u8] {
        &self.bytes
    }
}

/// The newest durable image of this member, shared by the apply thread
/// (which writes it after each snapshot) and the state-transfer thread
/// (which serves it to peers). Cloning shares the slot.
#[derive(Clone, Debug, Default)]
pub(super) struct LatestImage {
    slot: Arc<Mutex<Option<Arc<Image>>>>,
}

impl LatestImage {
    /// A slot holding `image`, the one a member recovered (if any).
    pub(super) fn holding(image: Option<Arc<Image>>) -> LatestImage {
        LatestImage {
            slot: Arc::new(Mutex::new(image)),
        }
    }

    /// The newest image, if this member has one.
    pub(super) fn get(&self) -> Option<Arc<Image>> {
        self.lock().clone()
    }

    /// Replaces the image; call only once it is durable on disk.
    pub(super) fn set(&self, image: Arc<Image>) {
        *self.lock() = Some(image);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Image>>> {
        // A thread that panicked holding the lock left a whole value (the
        // lock only guards a pointer swap), so the poison is ignored.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
