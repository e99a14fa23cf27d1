//! The driver's own byte formats, each versioned and checked on decode so
//! that garbage yields an error, never a panic:
//!
//! - a log record (what the WAL stores per entry): `version u8 | kind u8 |
//!   term u64 | data`; the WAL adds the index and a checksum around it;
//! - a proposal (a `Normal` entry's data): `version u8 | node u32 |
//!   incarnation u64 | number u64 | request`, the request being the state
//!   machine's request as JSON. The tag (node, incarnation, number) lets the
//!   proposing node's apply thread find the reply waiting for the entry;
//! - the hard state: `version u8 | term u64 | has_vote u8 | vote u32 |
//!   commit u64`;
//! - a read context (what `RaftNode::read_index` carries): `id u64`.
//!
//! Integers are little-endian, read and written with `crate::wire`; the
//! versions are `wire::formats::RAFT_LOG_RECORD`, `RAFT_PROPOSAL` and
//! `RAFT_HARD_STATE`.

use crate::raft::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};
use crate::wire::formats::{RAFT_HARD_STATE, RAFT_LOG_RECORD, RAFT_PROPOSAL};
use crate::wire::{DecodeError, Reader, Writer};

/// Bytes of a log record before the entry's data.
const RECORD_HEADER_BYTES: usize = 1 + 1 + 8;

/// Bytes of a proposal before the request.
pub const PROPOSAL_HEADER_BYTES: usize = 1 + 4 + 8 + 8;

/// Bytes of an encoded hard state.
const HARD_STATE_BYTES: usize = 1 + 8 + 1 + 4 + 8;

const KIND_NORMAL: u8 = 0;
const KIND_NO_OP: u8 = 1;

/// Names one proposal in the whole history of the cluster: the proposing
/// node, a random number drawn at each start of that node (so numbers
/// reused after a restart never match an old entry), and a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProposalTag {
    /// The proposing node.
    pub node: NodeId,
    /// Drawn at random when the node's driver starts.
    pub incarnation: u64,
    /// Counts this incarnation's proposals from 1.
    pub number: u64,
}

/// Encodes `entry` as a log record (its index travels outside, in the WAL).
pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    let mut writer = Writer::with_header(RAFT_LOG_RECORD, RECORD_HEADER_BYTES + entry.data.len());
    writer.u8(match entry.kind {
        EntryKind::Normal => KIND_NORMAL,
        EntryKind::NoOp => KIND_NO_OP,
    });
    writer.u64(entry.term.0);
    writer.bytes(&entry.data);
    writer.finish()
}

/// Decodes the log record stored at `index`.
pub fn decode_entry(index: u64, bytes: &[u8]) -> Result<Entry, DecodeError> {
    let mut reader = Reader::open(bytes, RAFT_LOG_RECORD)?;
    let kind = match reader.u8()? {
        KIND_NORMAL => EntryKind::Normal,
        KIND_NO_OP => EntryKind::NoOp,
        other => return Err(DecodeError::UnknownKind(other)),
    };
    let term = Term(reader.u64()?);
    Ok(Entry {
        term,
        index: LogIndex(index),
        kind,
        data: reader.rest().to_vec(),
    })
}

/// Encodes a proposal: the tag, then the request bytes.
pub fn encode_proposal(tag: ProposalTag, request: &[u8]) -> Vec<u8> {
    let mut writer = Writer::with_header(RAFT_PROPOSAL, PROPOSAL_HEADER_BYTES + request.len());
    writer.u32(tag.node.0 as u32);
    writer.u64(tag.incarnation);
    writer.u64(tag.number);
    writer.bytes(request);
    writer.finish()
}

/// Splits a proposal into its tag and its request bytes.
pub fn decode_proposal(bytes: &[u8]) -> Result<(ProposalTag, &[u8]), DecodeError> {
    let mut reader = Reader::open(bytes, RAFT_PROPOSAL)?;
    let node = NodeId(reader.u32()? as usize);
    let incarnation = reader.u64()?;
    let number = reader.u64()?;
    let tag = ProposalTag {
        node,
        incarnation,
        number,
    };
    Ok((tag, reader.rest()))
}

/// Encodes the hard state.
pub fn encode_hard_state(state: &HardState) -> Vec<u8> {
    let mut writer = Writer::with_header(RAFT_HARD_STATE, HARD_STATE_BYTES);
    writer.u64(state.term.0);
    writer.u8(u8::from(state.vote.is_some()));
    writer.u32(state.vote.map_or(0, |vote| vote.0 as u32));
    writer.u64(state.commit.0);
    writer.finish()
}

/// Decodes the hard state.
pub fn decode_hard_state(bytes: &[u8]) -> Result<HardState, DecodeError> {
    let mut reader = Reader::open(bytes, RAFT_HARD_STATE)?;
    let term = Term(reader.u64()?);
    let has_vote = reader.u8()?;
    let vote = reader.u32()?;
    let commit = LogIndex(reader.u64()?);
    if has_vote > 1 {
        let value = u64::from(has_vote);
        return Err(DecodeError::BadValue {
            what: "has_vote",
            value,
        });
    }
    reader.finish()?;
    Ok(HardState {
        term,
        vote: (has_vote == 1).then_some(NodeId(vote as usize)),
        commit,
    })
}

/// Encodes the context of read `id`.
pub fn encode_read_context(id: u64) -> Vec<u8> {
    let mut writer = Writer::new(8);
    writer.u64(id);
    writer.finish()
}

/// Decodes a read context.
pub fn decode_read_context(bytes: &[u8]) -> Result<u64, DecodeError> {
    let mut reader = Reader::new(bytes);
    let id = reader.u64()?;
    reader.finish()?;
    Ok(id)
}
