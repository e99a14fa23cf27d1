//! [`Server`]: the donor side of a state transfer. It answers each chunk
//! request from the newest durable image, and pins that image for the
//! asking peer so that a snapshot taken meanwhile does not pull the rug
//! from under a transfer under way. The pin is dropped once the last
//! chunk is served (or replaced by the peer's next fresh request); at most
//! one image per peer is pinned, and usually all pins share the newest one.
//! An image older than the fetcher asks for is not served: it would be
//! refused once whole.

use std::sync::Arc;

use crate::sequencer::{GlobalSeq, MemberId};

use super::image::Image;
use super::limits::CHUNK_BYTES_MAX;
use super::transfer_message::TransferMessage;

/// The images pinned per peer.
#[derive(Debug)]
pub(super) struct Server {
    pinned: Vec<Option<Arc<Image>>>,
}

impl Server {
    /// A server for a group of `members`.
    pub(super) fn new(members: u16) -> Server {
        Server {
            pinned: vec![None; usize::from(members)],
        }
    }

    /// The answer to `peer` asking for the chunk at `offset` of snapshot
    /// `snapshot` (0: the newest) covering at least `at_least`; `latest` is
    /// the newest durable image here and `applied` what the state covers.
    /// No image that recent, but the state is past it: `NotYet`, and the
    /// caller has one taken (the fetcher asks again). Not even the state
    /// is: `NoSnapshot`, someone else must give it.
    pub(super) fn answer(
        &mut self,
        peer: MemberId,
        (snapshot, offset, at_least): (u64, u64, u64),
        latest: Option<Arc<Image>>,
        applied: GlobalSeq,
    ) -> TransferMessage {
        let slot = &mut self.pinned[peer.index()];
        let pinned = slot
            .as_ref()
            .filter(|pinned| snapshot != 0 && pinned.global().0 == snapshot)
            .cloned();
        let image = match pinned.or(latest) {
            Some(image) if image.global().0 >= at_least => image,
            _ if applied.0 >= at_least => return TransferMessage::NotYet,
            _ => return TransferMessage::NoSnapshot,
        };
        *slot = Some(Arc::clone(&image));
        let total = image.bytes.len() as u64;
        // Another image than the one asked for, or an offset past its end:
        // start over at 0, which tells the fetcher to restart.
        let offset = if image.global().0 == snapshot && offset <= total {
            offset
        } else {
            0
        };
        let end = (offset + CHUNK_BYTES_MAX as u64).min(total);
        if end == total {
            *slot = None;
        }
        TransferMessage::Chunk {
            snapshot: image.global().0,
            total,
            offset,
            bytes: image.bytes[offset as usize..end as usize].to_vec(),
        }
    }
}
