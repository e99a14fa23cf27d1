//! [`Server`]: the donor side of a state transfer. It answers each chunk
//! request from the newest durable image, and pins that image for the
//! asking peer so that a snapshot taken meanwhile does not pull the rug
//! from under a transfer under way. The pin is dropped once the last
//! chunk is served (or replaced by the peer's next fresh request); at most
//! one image per peer is pinned, and usually all pins share the newest one.

use std::sync::Arc;

use crate::sequencer::MemberId;

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

    /// The answer to `peer` asking for the chunk of snapshot `snapshot` (0:
    /// the newest) at `offset`; `latest` is the newest durable image here.
    pub(super) fn answer(
        &mut self,
        peer: MemberId,
        snapshot: u64,
        offset: u64,
        latest: Option<Arc<Image>>,
    ) -> TransferMessage {
        let slot = &mut self.pinned[peer.index()];
        let image = match slot.as_ref() {
            Some(pinned) if snapshot != 0 && pinned.global().0 == snapshot => Arc::clone(pinned),
            _ => match latest {
                Some(latest) => {
                    *slot = Some(Arc::clone(&latest));
                    latest
                }
                None => return TransferMessage::NoSnapshot,
            },
        };
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
