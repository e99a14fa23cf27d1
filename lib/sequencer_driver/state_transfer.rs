//! The state-transfer thread ("state-transfer"): both sides of moving a
//! snapshot between members over UDP.
//!
//! - Fetching: when the core reports `snapshot_needed` (a peer answered a
//!   Retransmit with `Compacted`: what this member lacks is only in
//!   snapshots now), it runs a [`Fetch`] from that peer, chunk by chunk,
//!   and hands the checked image to the core, which has the apply thread
//!   install it and then calls `Member::install_snapshot`.
//! - Serving: it answers peers' chunk requests from this member's newest
//!   durable image (a [`Server`]). A peer that needs a more recent image
//!   than that, no further than this member's state, is told "not yet"
//!   and the apply thread is asked for a snapshot now (`want_snapshot`).
//!
//! It has its own thread so that a transfer (many round trips) never holds
//! up the core, and serving a large image never holds up ordering.

use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{select, Receiver};
use log::{debug, info};

use crate::driver_kit::{count, CoreInbox};
use crate::sequencer::{GlobalSeq, MemberId};
use crate::transport::UdpTransport;

use super::events::{CoreEvent, TransferTask};
use super::image::LatestImage;
use super::limits::TRANSFER_IDLE_WAKE;
use super::status::SharedStatus;
use super::transfer_fetch::{Fetch, FetchStep};
use super::transfer_message::TransferMessage;
use super::transfer_serve::Server;

/// The thread ended: stopped, or the core is gone.
struct Stopped;

/// Everything the state-transfer thread owns.
pub(super) struct StateTransfer<R> {
    pub(super) me: MemberId,
    pub(super) members: u16,
    pub(super) transport: Arc<UdpTransport>,
    /// Fetch orders from the core and messages from peers.
    pub(super) inbox: Receiver<TransferTask>,
    /// Where a fetched image goes.
    pub(super) core_inbox: CoreInbox<CoreEvent<R>>,
    pub(super) stop: Receiver<()>,
    pub(super) latest: LatestImage,
    pub(super) status: Arc<SharedStatus>,
    pub(super) fetch: Option<Fetch>,
    pub(super) server: Server,
}

impl<R> StateTransfer<R> {
    /// The thread's body, until stopped.
    pub(super) fn run(mut self) {
        loop {
            let wait = self.fetch.as_ref().map_or(TRANSFER_IDLE_WAKE, |fetch| {
                fetch.retry_at().saturating_duration_since(Instant::now())
            });
            let outcome = select! {
                recv(self.inbox) -> task => match task {
                    Ok(task) => self.handle(task),
                    Err(_) => return,
                },
                recv(self.stop) -> _ => return,
                default(wait) => self.on_timer(),
            };
            if outcome.is_err() {
                return;
            }
        }
    }

    fn handle(&mut self, task: TransferTask) -> Result<(), Stopped> {
        let now = Instant::now();
        match task {
            TransferTask::Fetch(needed) => {
                if let Some(fetch) = &mut self.fetch {
                    fetch.raise_base(needed.base);
                    return Ok(());
                }
                info!(
                    "sequencer {}: fetching a snapshot from {}",
                    self.me, needed.from
                );
                let (fetch, step) = Fetch::start(needed, self.me, self.members, now);
                self.fetch = Some(fetch);
                self.follow(step)
            }
            TransferTask::FromPeer { peer, message } => self.on_message(peer, message, now),
        }
    }

    fn on_message(
        &mut self,
        peer: MemberId,
        message: TransferMessage,
        now: Instant,
    ) -> Result<(), Stopped> {
        match message {
            TransferMessage::ChunkRequest {
                snapshot,
                offset,
                at_least,
            } => {
                let request = (snapshot, offset, at_least);
                let (latest, applied) = (self.latest.get(), self.status.applied());
                let answer = self.server.answer(peer, request, latest, applied);
                match answer {
                    TransferMessage::Chunk { .. } => count(&self.status.chunks_served, 1),
                    TransferMessage::NotYet => self.status.want_snapshot(GlobalSeq(at_least)),
                    _ => {}
                }
                self.send(peer, &answer);
                Ok(())
            }
            TransferMessage::Chunk {
                snapshot,
                total,
                offset,
                bytes,
            } => match &mut self.fetch {
                Some(fetch) => {
                    let step = fetch.on_chunk(peer, (snapshot, total, offset, bytes), now);
                    self.follow(step)
                }
                None => Ok(()),
            },
            TransferMessage::NoSnapshot => match &mut self.fetch {
                Some(fetch) => {
                    let step = fetch.on_no_snapshot(peer, now);
                    self.follow(step)
                }
                None => Ok(()),
            },
            TransferMessage::NotYet => match &mut self.fetch {
                Some(fetch) => {
                    let step = fetch.on_not_yet(peer, now);
                    self.follow(step)
                }
                None => Ok(()),
            },
        }
    }

    fn on_timer(&mut self) -> Result<(), Stopped> {
        match &mut self.fetch {
            Some(fetch) => {
                let step = fetch.on_timer(Instant::now());
                self.follow(step)
            }
            None => Ok(()),
        }
    }

    /// Does what the fetch asked for.
    fn follow(&mut self, step: FetchStep) -> Result<(), Stopped> {
        match step {
            FetchStep::Wait => Ok(()),
            FetchStep::Send(donor, message) => {
                self.send(donor, &message);
                Ok(())
            }
            FetchStep::GiveUp => {
                info!("sequencer {}: no member could give a snapshot", self.me);
                self.fetch = None;
                Ok(())
            }
            FetchStep::Done(image) => {
                info!(
                    "sequencer {}: fetched a snapshot at {} ({} bytes)",
                    self.me,
                    image.global(),
                    image.bytes.len()
                );
                self.fetch = None;
                let event = CoreEvent::SnapshotFetched(Arc::new(image));
                // Blocking is safe: the core never waits for this thread.
                self.core_inbox
                    .send_unless_stopped(event, &self.stop)
                    .map_err(|()| Stopped)
            }
        }
    }

    fn send(&self, peer: MemberId, message: &TransferMessage) {
        debug!("sequencer {} -> {peer}: {}", self.me, message.describe());
        if let Err(refused) = self.transport.send(peer.index(), &message.encode()) {
            // Sizes are bounded below the datagram limit: a bug.
            log::error!("sequencer {}: cannot send to {peer}: {refused}", self.me);
        }
    }
}
