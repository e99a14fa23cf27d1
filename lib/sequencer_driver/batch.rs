//! Several core messages in one datagram. A flush sends every peer the
//! batch's Requests, Sequences and heartbeat at once; packing them into one
//! datagram per peer costs one send, one receive and one wake-up of each
//! thread on the way instead of one per message.
//!
//! Format: magic `SB`, version (`wire::formats::MESSAGE_BATCH`), a `u16`
//! count, then per message a `u32` length and the message's own encoding
//! (which starts with `SQ`). A lone message is sent as itself, without the
//! wrapper, so a batch always holds at least two. Reading checks every
//! length against the datagram and the count against `BATCH_MESSAGES_MAX`;
//! garbage is an error, never a panic.

use crate::wire::DecodeError;

use crate::transport::PAYLOAD_BYTES_MAX as DATAGRAM_PAYLOAD_BYTES_MAX;

use super::limits::BATCH_MESSAGES_MAX;
use crate::wire::formats::MESSAGE_BATCH;
use crate::wire::{read_parts, write_parts, Reader, Writer};

/// Bytes of the wrapper before the first message: magic, version, count.
const HEADER_BYTES: usize = MESSAGE_BATCH.magic.len() + 1 + 2;

/// Bytes of each message's length prefix.
const LENGTH_BYTES: usize = 4;

/// Packs encoded messages, in order, into as few datagram payloads as fit
/// within `DATAGRAM_PAYLOAD_BYTES_MAX` and `BATCH_MESSAGES_MAX` each. A
/// message that fits in no batch with another goes alone, as itself.
pub(super) fn pack(messages: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut datagrams = Vec::new();
    let mut group: Vec<Vec<u8>> = Vec::new();
    let mut group_bytes = HEADER_BYTES;
    for message in messages {
        let needed = LENGTH_BYTES + message.len();
        let full =
            group.len() == BATCH_MESSAGES_MAX || group_bytes + needed > DATAGRAM_PAYLOAD_BYTES_MAX;
        if full && !group.is_empty() {
            datagrams.push(seal(std::mem::take(&mut group)));
            group_bytes = HEADER_BYTES;
        }
        group_bytes += needed;
        group.push(message);
    }
    if !group.is_empty() {
        datagrams.push(seal(group));
    }
    datagrams
}

/// One datagram for a group: the message itself when alone, else a batch.
fn seal(mut group: Vec<Vec<u8>>) -> Vec<u8> {
    if group.len() == 1 {
        return group.pop().expect("one message");
    }
    let body: usize = group.iter().map(|m| LENGTH_BYTES + m.len()).sum();
    let mut writer = Writer::with_header(MESSAGE_BATCH, body + 2);
    let parts: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
    write_parts(&mut writer, &parts);
    writer.finish()
}

/// The encoded messages of a batch datagram, in order (each still to be
/// decoded as a `Message`).
pub(super) fn unpack(datagram: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    let mut reader = Reader::open(datagram, MESSAGE_BATCH)?;
    read_parts(&mut reader, "messages in a batch", BATCH_MESSAGES_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::assert_parts_garbage_refused;
    use crate::wire::formats::SEQUENCER_MESSAGE;

    fn message(tag: u8, bytes: usize) -> Vec<u8> {
        let mut message = SEQUENCER_MESSAGE.magic.to_vec();
        message.resize(bytes, tag);
        message
    }

    #[test]
    fn a_lone_message_goes_as_itself() {
        let lone = message(1, 40);
        assert_eq!(pack(vec![lone.clone()]), vec![lone]);
        assert!(pack(Vec::new()).is_empty());
    }

    #[test]
    fn messages_come_back_in_order() {
        let messages: Vec<Vec<u8>> = (0..5).map(|tag| message(tag, 10 + tag as usize)).collect();
        let datagrams = pack(messages.clone());
        assert_eq!(datagrams.len(), 1);
        assert_eq!(&datagrams[0][..2], MESSAGE_BATCH.magic);
        let unpacked = unpack(&datagrams[0]).expect("a good batch");
        assert_eq!(
            unpacked,
            messages.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
    }

    #[test]
    fn batches_split_at_the_datagram_size_and_the_count() {
        // Three messages of 40% of a datagram: two fit together, not three.
        let big = DATAGRAM_PAYLOAD_BYTES_MAX * 2 / 5;
        let messages: Vec<Vec<u8>> = (0..3).map(|tag| message(tag, big)).collect();
        let datagrams = pack(messages.clone());
        assert_eq!(datagrams.len(), 2);
        assert!(datagrams
            .iter()
            .all(|d| d.len() <= DATAGRAM_PAYLOAD_BYTES_MAX));
        assert_eq!(unpack(&datagrams[0]).expect("batch").len(), 2);
        assert_eq!(datagrams[1], messages[2], "the last one alone, as itself");
        let many: Vec<Vec<u8>> = (0..BATCH_MESSAGES_MAX + 1).map(|_| message(7, 8)).collect();
        let datagrams = pack(many);
        assert_eq!(datagrams.len(), 2);
        assert_eq!(
            unpack(&datagrams[0]).expect("batch").len(),
            BATCH_MESSAGES_MAX
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = pack(vec![message(1, 20), message(2, 30)]).remove(0);
        assert_parts_garbage_refused(&good, 0, |bytes| unpack(bytes).is_err());
    }
}
