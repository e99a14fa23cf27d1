//! [`Fetch`]: the fetching side of a state transfer, as a pure state
//! machine (time comes in as an argument), so its retry and donor rules are
//! tested without sockets.
//!
//! It asks one donor for one chunk at a time, starting with "your newest
//! snapshot, offset 0". Each chunk that continues the image resets the
//! retry delay; an unanswered request is repeated after 20, 40, 80 ... ms
//! (capped); after `TRANSFER_ATTEMPTS_PER_DONOR` unanswered requests in a
//! row, or a "no snapshot" answer, or an image that is bad or too old, it
//! moves on to the next member, starting over. A "not yet" answer (the
//! donor is taking a snapshot recent enough, on demand) is waited out on
//! the same backed-off timer, then asked again from the start, at most
//! `TRANSFER_NOT_YET_PER_DONOR` times before moving on. After two rounds of
//! every member it gives up: the core asks again if it still needs a
//! snapshot.

use std::time::{Duration, Instant};

use log::{debug, warn};

use crate::sequencer::{GlobalSeq, MemberId, SnapshotNeeded};

use super::image::Image;
use super::limits::{
    TRANSFER_ATTEMPTS_PER_DONOR, TRANSFER_NOT_YET_PER_DONOR, TRANSFER_RETRY_FIRST,
    TRANSFER_RETRY_MAX,
};
use super::transfer_message::TransferMessage;

/// Rounds through every other member before a fetch gives up.
const DONOR_ROUNDS_MAX: u32 = 2;

/// What the fetch wants done next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum FetchStep {
    /// Nothing now.
    Wait,
    /// Send this message to this member.
    Send(MemberId, TransferMessage),
    /// The image is complete and checked.
    Done(Image),
    /// Every donor failed; the fetch is over.
    GiveUp,
}

/// One state transfer under way.
#[derive(Debug)]
pub(super) struct Fetch {
    me: MemberId,
    members: u16,
    /// The image must cover at least this number.
    base: GlobalSeq,
    donor: MemberId,
    /// Donors tried so far (the first included).
    donors_tried: u32,
    /// The donor's snapshot being assembled (0 until its first chunk).
    snapshot: u64,
    total: u64,
    received: Vec<u8>,
    /// Unanswered requests to this donor in a row.
    attempts: u32,
    /// "Not yet" answers from this donor.
    not_yet: u32,
    delay: Duration,
    retry_at: Instant,
}

impl Fetch {
    /// Starts fetching from the member that said it compacted; returns the
    /// first request to send.
    pub(super) fn start(
        needed: SnapshotNeeded,
        me: MemberId,
        members: u16,
        now: Instant,
    ) -> (Fetch, FetchStep) {
        assert!(
            needed.from != me && needed.from.0 < members,
            "donor {}",
            needed.from
        );
        let mut fetch = Fetch {
            me,
            members,
            base: needed.base,
            donor: needed.from,
            donors_tried: 1,
            snapshot: 0,
            total: 0,
            received: Vec::new(),
            attempts: 0,
            not_yet: 0,
            delay: TRANSFER_RETRY_FIRST,
            retry_at: now,
        };
        let step = fetch.request(now);
        (fetch, step)
    }

    /// A later order for the same transfer: the image must reach `base`.
    pub(super) fn raise_base(&mut self, base: GlobalSeq) {
        self.base = self.base.max(base);
    }

    /// When the timer should fire next.
    pub(super) fn retry_at(&self) -> Instant {
        self.retry_at
    }

    /// A chunk arrived from `from`.
    pub(super) fn on_chunk(
        &mut self,
        from: MemberId,
        chunk: (u64, u64, u64, Vec<u8>),
        now: Instant,
    ) -> FetchStep {
        let (snapshot, total, offset, bytes) = chunk;
        if from != self.donor {
            return FetchStep::Wait;
        }
        if snapshot != self.snapshot || total != self.total {
            if offset != 0 {
                // A late chunk of another image: not ours.
                return FetchStep::Wait;
            }
            // The donor's image changed (or this is its first chunk).
            self.snapshot = snapshot;
            self.total = total;
            self.received.clear();
        }
        if offset != self.received.len() as u64 {
            // A duplicate or a reordered chunk; the timer asks again.
            return FetchStep::Wait;
        }
        self.received.extend_from_slice(&bytes);
        self.attempts = 0;
        self.delay = TRANSFER_RETRY_FIRST;
        if (self.received.len() as u64) < self.total {
            return self.request(now);
        }
        self.finish(now)
    }

    /// The donor has no image.
    pub(super) fn on_no_snapshot(&mut self, from: MemberId, now: Instant) -> FetchStep {
        if from != self.donor {
            return FetchStep::Wait;
        }
        self.next_donor(now)
    }

    /// The donor has no image recent enough yet, but is taking one: start
    /// over once the timer (already set, backing off) fires, or, after
    /// `TRANSFER_NOT_YET_PER_DONOR` of these, move on to another donor.
    pub(super) fn on_not_yet(&mut self, from: MemberId, now: Instant) -> FetchStep {
        if from != self.donor {
            return FetchStep::Wait;
        }
        self.not_yet += 1;
        if self.not_yet >= TRANSFER_NOT_YET_PER_DONOR {
            debug!("state transfer: {} has no image yet", self.donor);
            return self.next_donor(now);
        }
        // An answer: the request was not lost. Whatever comes next is a
        // new image, from its first byte.
        self.attempts = 0;
        self.snapshot = 0;
        self.total = 0;
        self.received.clear();
        FetchStep::Wait
    }

    /// The timer: ask again, or move on to another donor.
    pub(super) fn on_timer(&mut self, now: Instant) -> FetchStep {
        if now < self.retry_at {
            return FetchStep::Wait;
        }
        self.attempts += 1;
        if self.attempts >= TRANSFER_ATTEMPTS_PER_DONOR {
            debug!("state transfer: {} does not answer", self.donor);
            return self.next_donor(now);
        }
        self.delay = (self.delay * 2).min(TRANSFER_RETRY_MAX);
        self.request(now)
    }

    /// The whole image is in: check it.
    fn finish(&mut self, now: Instant) -> FetchStep {
        let bytes = std::mem::take(&mut self.received);
        let image = match Image::decode(bytes) {
            Ok(image) => image,
            Err(error) => {
                warn!("state transfer: bad image from {}: {error}", self.donor);
                return self.next_donor(now);
            }
        };
        if image.point.delivered_local.len() != usize::from(self.members)
            || image.global() < self.base
        {
            debug!(
                "state transfer: image at {} from {} does not reach {}",
                image.global(),
                self.donor,
                self.base
            );
            return self.next_donor(now);
        }
        FetchStep::Done(image)
    }

    /// Starts over with the next member (never this one).
    fn next_donor(&mut self, now: Instant) -> FetchStep {
        if self.donors_tried >= DONOR_ROUNDS_MAX * u32::from(self.members - 1) {
            return FetchStep::GiveUp;
        }
        let mut donor = self.donor;
        loop {
            donor = MemberId((donor.0 + 1) % self.members);
            if donor != self.me {
                break;
            }
        }
        self.donor = donor;
        self.donors_tried += 1;
        self.snapshot = 0;
        self.total = 0;
        self.received.clear();
        self.attempts = 0;
        self.not_yet = 0;
        self.delay = TRANSFER_RETRY_FIRST;
        self.request(now)
    }

    /// Asks the donor for the next chunk and sets the timer.
    fn request(&mut self, now: Instant) -> FetchStep {
        self.retry_at = now + self.delay;
        let message = TransferMessage::ChunkRequest {
            snapshot: self.snapshot,
            offset: self.received.len() as u64,
            at_least: self.base.0,
        };
        FetchStep::Send(self.donor, message)
    }
}
