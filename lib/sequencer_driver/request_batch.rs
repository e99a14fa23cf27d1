//! The client requests one broadcast carries. The core thread takes every
//! request queued when it wakes and broadcasts them as one protocol Request:
//! one local number, one Sequence, one global number and one delivery for
//! the lot, instead of one each. Under load this is what keeps the rotating
//! order (which moves one global number per hop between members) from
//! being the bottleneck; alone, a request still goes at once, in a batch of
//! one. Every member applies a delivered batch's requests in the order they
//! were taken, so the total order of requests is the order of batches,
//! then the order inside each.
//!
//! Format: magic `RB`, version (`wire::formats::REQUEST_BATCH`), a `u16`
//! count, then per request a `u32` length and the request's bytes. A
//! payload that does not start with the magic is one request on its own
//! (what logs written before batching hold: a command opens with its
//! encoding's version or JSON's `{`, never with `R`, which
//! `wire/formats.rs` checks at compile time). Reading checks
//! every length against the payload; garbage is an error, never a panic.

use crate::wire::DecodeError;

use super::limits::REQUESTS_PER_BATCH_MAX;
use crate::wire::formats::REQUEST_BATCH;
use crate::wire::{read_parts, write_parts, Reader, Writer};

/// Bytes of the batch header: magic, version, count.
const HEADER_BYTES: usize = REQUEST_BATCH.magic.len() + 1 + 2;

/// Bytes each request adds besides its own: its length.
const LENGTH_BYTES: usize = 4;

/// The largest request that fits a broadcast of `payload_bytes_max` bytes,
/// in a batch of its own.
pub(super) fn request_bytes_max(payload_bytes_max: usize) -> usize {
    payload_bytes_max.saturating_sub(HEADER_BYTES + LENGTH_BYTES)
}

/// Requests gathered for one broadcast, and the bytes their batch will take.
#[derive(Debug)]
pub(super) struct RequestBatch<T> {
    /// Each request's bytes and what goes with it (the core keeps its reply).
    requests: Vec<(Vec<u8>, T)>,
    bytes: usize,
}

impl<T> RequestBatch<T> {
    /// An empty batch.
    pub(super) fn new() -> RequestBatch<T> {
        RequestBatch {
            requests: Vec::new(),
            bytes: HEADER_BYTES,
        }
    }

    /// True when nothing was added since the last `take`.
    pub(super) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    /// True when `request` would not fit beside what the batch holds, within
    /// `payload_bytes_max` and `REQUESTS_PER_BATCH_MAX`.
    pub(super) fn is_full_for(&self, request: &[u8], payload_bytes_max: usize) -> bool {
        self.requests.len() == REQUESTS_PER_BATCH_MAX
            || self.bytes + LENGTH_BYTES + request.len() > payload_bytes_max
    }

    /// Adds a request (the caller checked `is_full_for` first).
    pub(super) fn push(&mut self, request: Vec<u8>, with: T) {
        self.bytes += LENGTH_BYTES + request.len();
        self.requests.push((request, with));
    }

    /// The batch's payload and, in the same order, what went with each
    /// request; the batch is empty again.
    pub(super) fn take(&mut self) -> (Vec<u8>, Vec<T>) {
        let requests = std::mem::take(&mut self.requests);
        let mut writer = Writer::with_header(REQUEST_BATCH, self.bytes);
        self.bytes = HEADER_BYTES;
        let (bytes, withs): (Vec<Vec<u8>>, Vec<T>) = requests.into_iter().unzip();
        let parts: Vec<&[u8]> = bytes.iter().map(Vec::as_slice).collect();
        write_parts(&mut writer, &parts);
        (writer.finish(), withs)
    }
}

/// The requests a delivered payload carries, in order.
pub(super) fn requests(payload: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    if !payload.starts_with(REQUEST_BATCH.magic) {
        return Ok(vec![payload]);
    }
    let mut reader = Reader::open(payload, REQUEST_BATCH)?;
    read_parts(&mut reader, "requests in a batch", REQUESTS_PER_BATCH_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::assert_parts_garbage_refused;

    fn batch_of(requests: &[&[u8]]) -> (Vec<u8>, Vec<usize>) {
        let mut batch = RequestBatch::new();
        for (index, request) in requests.iter().enumerate() {
            assert!(!batch.is_full_for(request, 60_000));
            batch.push(request.to_vec(), index);
        }
        batch.take()
    }

    #[test]
    fn requests_come_back_in_order_with_what_went_with_them() {
        let (payload, withs) = batch_of(&[b"{\"a\":1}", b"", b"{\"b\":2}"]);
        assert_eq!(withs, vec![0, 1, 2]);
        let requests = requests(&payload).expect("a good batch");
        assert_eq!(requests, vec![&b"{\"a\":1}"[..], b"", b"{\"b\":2}"]);
    }

    #[test]
    fn taking_empties_the_batch() {
        let mut batch = RequestBatch::new();
        batch.push(b"{}".to_vec(), ());
        let (first, _) = batch.take();
        assert!(batch.is_empty());
        batch.push(b"{}".to_vec(), ());
        assert_eq!(batch.take().0, first, "the header counted afresh");
    }

    #[test]
    fn a_payload_without_the_magic_is_one_request() {
        let legacy = b"{\"CreateAccount\":{}}";
        assert_eq!(requests(legacy).expect("legacy"), vec![&legacy[..]]);
    }

    #[test]
    fn the_batch_is_full_at_the_payload_size_and_the_count() {
        let max = 1_000;
        let mut batch = RequestBatch::new();
        let big = vec![b'x'; request_bytes_max(max)];
        assert!(
            !batch.is_full_for(&big, max),
            "the largest request fits alone"
        );
        assert!(batch.is_full_for(&[big.as_slice(), b"x"].concat(), max));
        batch.push(big, ());
        assert!(batch.is_full_for(b"", max), "nothing fits beside it");
        assert!(batch.take().0.len() <= max);

        let mut many = RequestBatch::new();
        for _ in 0..REQUESTS_PER_BATCH_MAX {
            assert!(!many.is_full_for(b"{}", usize::MAX));
            many.push(b"{}".to_vec(), ());
        }
        assert!(many.is_full_for(b"{}", usize::MAX));
        let (payload, withs) = many.take();
        assert_eq!(withs.len(), REQUESTS_PER_BATCH_MAX);
        assert_eq!(requests(&payload).expect("batch").len(), withs.len());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let (good, _) = batch_of(&[b"{\"a\":1}", b"{\"b\":2}"]);
        // Below 2 bytes there is no magic: a legacy single request.
        assert_parts_garbage_refused(&good, 2, |bytes| requests(bytes).is_err());
        let mut bad_version = good;
        bad_version[2] = 9;
        assert!(requests(&bad_version).is_err());
    }
}
