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
//! Integers are little-endian.

use crate::raft::{Entry, EntryKind, HardState, LogIndex, NodeId, Term};

/// The version byte of every format here.
const CODEC_VERSION: u8 = 1;

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
    let mut bytes = Vec::with_capacity(RECORD_HEADER_BYTES + entry.data.len());
    bytes.push(CODEC_VERSION);
    bytes.push(match entry.kind {
        EntryKind::Normal => KIND_NORMAL,
        EntryKind::NoOp => KIND_NO_OP,
    });
    bytes.extend_from_slice(&entry.term.0.to_le_bytes());
    bytes.extend_from_slice(&entry.data);
    bytes
}

/// Decodes the log record stored at `index`.
pub fn decode_entry(index: u64, bytes: &[u8]) -> Result<Entry, String> {
    let mut reader = Reader::new(bytes);
    reader.version()?;
    let kind = match reader.u8("kind")? {
        KIND_NORMAL => EntryKind::Normal,
        KIND_NO_OP => EntryKind::NoOp,
        other => return Err(format!("unknown entry kind {other}")),
    };
    let term = Term(reader.u64("term")?);
    Ok(Entry {
        term,
        index: LogIndex(index),
        kind,
        data: reader.rest().to_vec(),
    })
}

/// Encodes a proposal: the tag, then the request bytes.
pub fn encode_proposal(tag: ProposalTag, request: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(PROPOSAL_HEADER_BYTES + request.len());
    bytes.push(CODEC_VERSION);
    bytes.extend_from_slice(&(tag.node.0 as u32).to_le_bytes());
    bytes.extend_from_slice(&tag.incarnation.to_le_bytes());
    bytes.extend_from_slice(&tag.number.to_le_bytes());
    bytes.extend_from_slice(request);
    bytes
}

/// Splits a proposal into its tag and its request bytes.
pub fn decode_proposal(bytes: &[u8]) -> Result<(ProposalTag, &[u8]), String> {
    let mut reader = Reader::new(bytes);
    reader.version()?;
    let node = NodeId(reader.u32("node")? as usize);
    let incarnation = reader.u64("incarnation")?;
    let number = reader.u64("number")?;
    let tag = ProposalTag {
        node,
        incarnation,
        number,
    };
    Ok((tag, reader.rest()))
}

/// Encodes the hard state.
pub fn encode_hard_state(state: &HardState) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HARD_STATE_BYTES);
    bytes.push(CODEC_VERSION);
    bytes.extend_from_slice(&state.term.0.to_le_bytes());
    bytes.push(u8::from(state.vote.is_some()));
    let vote = state.vote.map_or(0, |vote| vote.0 as u32);
    bytes.extend_from_slice(&vote.to_le_bytes());
    bytes.extend_from_slice(&state.commit.0.to_le_bytes());
    bytes
}

/// Decodes the hard state.
pub fn decode_hard_state(bytes: &[u8]) -> Result<HardState, String> {
    let mut reader = Reader::new(bytes);
    reader.version()?;
    let term = Term(reader.u64("term")?);
    let has_vote = reader.u8("has_vote")?;
    let vote = reader.u32("vote")?;
    let commit = LogIndex(reader.u64("commit")?);
    if has_vote > 1 {
        return Err(format!("bad has_vote {has_vote}"));
    }
    if !reader.rest().is_empty() {
        return Err("trailing bytes after the hard state".into());
    }
    Ok(HardState {
        term,
        vote: (has_vote == 1).then_some(NodeId(vote as usize)),
        commit,
    })
}

/// Encodes the context of read `id`.
pub fn encode_read_context(id: u64) -> Vec<u8> {
    id.to_le_bytes().to_vec()
}

/// Decodes a read context.
pub fn decode_read_context(bytes: &[u8]) -> Result<u64, String> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| format!("read context of {} bytes, not 8", bytes.len()))?;
    Ok(u64::from_le_bytes(array))
}

/// Reads fields off the front of a byte string, checking each length.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn take<const N: usize>(&mut self, field: &str) -> Result<[u8; N], String> {
        let Some((head, rest)) = self.bytes.split_first_chunk::<N>() else {
            return Err(format!("cut short in {field}"));
        };
        self.bytes = rest;
        Ok(*head)
    }

    fn version(&mut self) -> Result<(), String> {
        match self.u8("version")? {
            CODEC_VERSION => Ok(()),
            other => Err(format!("unknown version {other}")),
        }
    }

    fn u8(&mut self, field: &str) -> Result<u8, String> {
        Ok(self.take::<1>(field)?[0])
    }

    fn u32(&mut self, field: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take::<4>(field)?))
    }

    fn u64(&mut self, field: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take::<8>(field)?))
    }

    fn rest(self) -> &'a [u8] {
        self.bytes
    }
}
