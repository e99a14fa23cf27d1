//! The messages raft nodes exchange, their one-line `describe()`, their
//! well-formedness rules and their binary wire format.
//!
//! Every message travels in an envelope (`Message`) with the fields all kinds
//! share: sender, receiver and the sender's term. Keeping the term outside the
//! `Body` enum lets `RaftNode::step` apply the term rules of §5.1 in one place
//! before it looks at the kind.
//!
//! Wire format (little-endian, no padding, read and written with
//! `crate::wire`): a version byte (`wire::formats::RAFT_MESSAGE`), a kind
//! byte, `from: u32`, `to: u32`, `term: u64`, then the body fields in
//! declaration order. Byte strings are a `u32` length and the bytes; a
//! `bool` is one byte, 0 or 1. `decode` checks every length against what is
//! left, so garbage yields an error, never a panic or a large allocation.
//! The transport adds its own checksum around these bytes.

use std::fmt::Write as _;

use super::errors::DecodeError;
use super::ids::{EntryId, LogIndex, NodeId, Term};
use super::types::{Entry, EntryKind, SnapshotMeta};
use crate::wire::formats::RAFT_MESSAGE;
use crate::wire::{Reader, Writer};

/// Bytes of the fields every message has after the version: kind, from,
/// to, term.
const ENVELOPE_BYTES: usize = 1 + 4 + 4 + 8;

/// A byte string's own bound: none but its `u32` length, since the
/// datagram that carries it is far smaller (a longer one is truncated).
const BYTE_STRING_BYTES_MAX: usize = u32::MAX as usize;

/// The largest index or term in a well-formed message: far beyond any real
/// log, and far enough below `u64::MAX` that `index + 1` and friends cannot
/// overflow on forged input.
pub const NUMBER_MAX: u64 = (1 << 62) - 1;

/// A message between two raft nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sender.
    pub from: NodeId,
    /// The receiver.
    pub to: NodeId,
    /// The sender's term, or for pre-votes the term the sender would campaign
    /// in (its term plus one).
    pub term: Term,
    /// What the message says.
    pub body: Body,
}

/// The kinds of message, with the fields each carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// "Could I win an election in `term`?" (thesis §9.6). Changes no state.
    PreVote {
        /// The candidate's last log entry, for the election restriction.
        last_log: EntryId,
    },
    /// The answer to a `PreVote`.
    PreVoteResponse {
        /// Whether the voter would vote for the candidate.
        granted: bool,
    },
    /// RequestVote (§5.2): "vote for me in `term`".
    Vote {
        /// The candidate's last log entry, for the election restriction
        /// (§5.4.1).
        last_log: EntryId,
    },
    /// The answer to a `Vote`; sent only after the vote is on disk.
    VoteResponse {
        /// Whether the vote was granted.
        granted: bool,
    },
    /// AppendEntries (§5.3): entries following `prev_log`, and the leader's
    /// commit index.
    Append {
        /// The entry just before `entries`; the follower must hold it.
        prev_log: EntryId,
        /// The leader's commit index.
        commit: LogIndex,
        /// Consecutive entries starting at `prev_log.index + 1`; may be empty.
        entries: Vec<Entry>,
    },
    /// The answer to an `Append` (or a finished snapshot install); sent only
    /// after the follower's log is on disk.
    AppendResponse {
        /// Whether the follower's log now matches, and if not, a hint.
        outcome: AppendOutcome,
    },
    /// A leader's periodic "I am alive" (§5.2), which also carries the
    /// commit index and confirms ReadIndex rounds.
    Heartbeat {
        /// The commit index, capped at what the follower is known to hold.
        commit: LogIndex,
        /// The latest ReadIndex round the leader has started.
        read_round: u64,
    },
    /// The answer to a `Heartbeat`.
    HeartbeatResponse {
        /// The `read_round` of the heartbeat being answered.
        read_round: u64,
    },
    /// One chunk of InstallSnapshot (§7): bytes `offset..offset+data.len()`
    /// of the snapshot named by `snapshot`.
    InstallSnapshot {
        /// Which snapshot the chunk belongs to.
        snapshot: SnapshotMeta,
        /// Where the chunk starts in the snapshot data.
        offset: u64,
        /// The chunk's bytes.
        data: Vec<u8>,
        /// Whether this chunk ends the snapshot.
        last: bool,
    },
    /// A follower's acknowledgement of snapshot chunks.
    SnapshotResponse {
        /// The index of the snapshot being assembled.
        snapshot_index: LogIndex,
        /// How many bytes the follower holds: the offset it wants next.
        next_offset: u64,
        /// False if a chunk arrived out of order and the leader should resend
        /// from `next_offset`.
        accepted: bool,
    },
}

/// The result of an `Append` at the follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The follower's log matches the leader's up to `match_index`.
    Accepted {
        /// The last index known to match.
        match_index: LogIndex,
    },
    /// The consistency check failed at `rejected_index` (the `prev_log.index`
    /// of the Append); `hint` lets the leader skip back quickly.
    Rejected {
        /// The `prev_log.index` that did not match.
        rejected_index: LogIndex,
        /// Where the leader should look next.
        hint: RejectHint,
    },
}

/// Fast backtracking of nextIndex (§5.3, "the protocol can be optimized"):
/// instead of one entry per round trip, the follower says where to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectHint {
    /// The follower's log ends before `rejected_index`.
    LogTooShort {
        /// The follower's last index.
        last_index: LogIndex,
    },
    /// The follower holds `term` at `rejected_index`; `first_index` is where
    /// its run of that term starts.
    TermConflict {
        /// The conflicting term.
        term: Term,
        /// The follower's first index holding `term`.
        first_index: LogIndex,
    },
}

/// Kind bytes of the wire format, one per `Body` variant.
mod kind {
    pub const PRE_VOTE: u8 = 1;
    pub const PRE_VOTE_RESPONSE: u8 = 2;
    pub const VOTE: u8 = 3;
    pub const VOTE_RESPONSE: u8 = 4;
    pub const APPEND: u8 = 5;
    pub const APPEND_RESPONSE: u8 = 6;
    pub const HEARTBEAT: u8 = 7;
    pub const HEARTBEAT_RESPONSE: u8 = 8;
    pub const INSTALL_SNAPSHOT: u8 = 9;
    pub const SNAPSHOT_RESPONSE: u8 = 10;
}

impl Body {
    /// A short name of the kind, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Body::PreVote { .. } => "PreVote",
            Body::PreVoteResponse { .. } => "PreVoteResponse",
            Body::Vote { .. } => "Vote",
            Body::VoteResponse { .. } => "VoteResponse",
            Body::Append { .. } => "Append",
            Body::AppendResponse { .. } => "AppendResponse",
            Body::Heartbeat { .. } => "Heartbeat",
            Body::HeartbeatResponse { .. } => "HeartbeatResponse",
            Body::InstallSnapshot { .. } => "InstallSnapshot",
            Body::SnapshotResponse { .. } => "SnapshotResponse",
        }
    }

    fn kind_byte(&self) -> u8 {
        match self {
            Body::PreVote { .. } => kind::PRE_VOTE,
            Body::PreVoteResponse { .. } => kind::PRE_VOTE_RESPONSE,
            Body::Vote { .. } => kind::VOTE,
            Body::VoteResponse { .. } => kind::VOTE_RESPONSE,
            Body::Append { .. } => kind::APPEND,
            Body::AppendResponse { .. } => kind::APPEND_RESPONSE,
            Body::Heartbeat { .. } => kind::HEARTBEAT,
            Body::HeartbeatResponse { .. } => kind::HEARTBEAT_RESPONSE,
            Body::InstallSnapshot { .. } => kind::INSTALL_SNAPSHOT,
            Body::SnapshotResponse { .. } => kind::SNAPSHOT_RESPONSE,
        }
    }
}

impl Message {
    /// One canonical line describing the message, shared by logs and tests,
    /// e.g. `n0->n1 t3 Append prev=i4/t2 commit=i4 entries=[i5/t3..i6/t3]`.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "{}->{} {} {}",
            self.from,
            self.to,
            self.term,
            self.body.name()
        );
        // Writing to a String cannot fail.
        let _ = match &self.body {
            Body::PreVote { last_log } | Body::Vote { last_log } => {
                write!(line, " last={last_log}")
            }
            Body::PreVoteResponse { granted } | Body::VoteResponse { granted } => {
                write!(line, " granted={granted}")
            }
            Body::Append {
                prev_log,
                commit,
                entries,
            } => write!(
                line,
                " prev={prev_log} commit={commit} entries={}",
                describe_entries(entries)
            ),
            Body::AppendResponse { outcome } => write!(line, " {}", describe_outcome(outcome)),
            Body::Heartbeat { commit, read_round } => {
                write!(line, " commit={commit} round={read_round}")
            }
            Body::HeartbeatResponse { read_round } => write!(line, " round={read_round}"),
            Body::InstallSnapshot {
                snapshot,
                offset,
                data,
                last,
            } => write!(
                line,
                " snap={} offset={offset} bytes={} last={last}",
                snapshot.id(),
                data.len()
            ),
            Body::SnapshotResponse {
                snapshot_index,
                next_offset,
                accepted,
            } => write!(
                line,
                " snap={snapshot_index} next_offset={next_offset} accepted={accepted}"
            ),
        };
        line
    }

    /// Checks the rules every well-formed message obeys, beyond what the
    /// decoder checks; a message that breaks one is dropped by the receiver.
    /// Returns the rule broken.
    pub fn check_well_formed(&self, cluster_size: usize) -> Result<(), &'static str> {
        if self.from.0 >= cluster_size || self.to.0 >= cluster_size {
            return Err("node id outside the cluster");
        }
        if self.from == self.to {
            return Err("message to self");
        }
        if self.numbers().iter().any(|number| *number > NUMBER_MAX) {
            return Err("index or term beyond NUMBER_MAX");
        }
        match &self.body {
            Body::PreVote { last_log } | Body::Vote { last_log } if last_log.term > self.term => {
                Err("candidate's last log term is above its term")
            }
            Body::Append {
                prev_log, entries, ..
            } => check_append_entries(self.term, *prev_log, entries),
            Body::AppendResponse { outcome } => check_outcome(outcome),
            Body::InstallSnapshot {
                snapshot,
                offset,
                data,
                ..
            } => {
                if snapshot.index == LogIndex::ZERO || snapshot.term > self.term {
                    return Err("snapshot id out of range");
                }
                match offset.checked_add(data.len() as u64) {
                    Some(_) => Ok(()),
                    None => Err("snapshot chunk end overflows"),
                }
            }
            _ => Ok(()),
        }
    }

    /// Every index, term and offset the message carries.
    fn numbers(&self) -> Vec<u64> {
        let mut numbers = vec![self.term.0];
        match &self.body {
            Body::PreVote { last_log } | Body::Vote { last_log } => {
                numbers.extend([last_log.term.0, last_log.index.0]);
            }
            Body::PreVoteResponse { .. } | Body::VoteResponse { .. } => {}
            Body::Append {
                prev_log,
                commit,
                entries,
            } => {
                numbers.extend([prev_log.term.0, prev_log.index.0, commit.0]);
                numbers.extend(
                    entries
                        .iter()
                        .flat_map(|entry| [entry.term.0, entry.index.0]),
                );
            }
            Body::AppendResponse { outcome } => numbers.extend(outcome_numbers(outcome)),
            Body::Heartbeat { commit, read_round } => numbers.extend([commit.0, *read_round]),
            Body::HeartbeatResponse { read_round } => numbers.push(*read_round),
            Body::InstallSnapshot {
                snapshot, offset, ..
            } => numbers.extend([snapshot.term.0, snapshot.index.0, *offset]),
            Body::SnapshotResponse {
                snapshot_index,
                next_offset,
                ..
            } => numbers.extend([snapshot_index.0, *next_offset]),
        }
        numbers
    }

    /// Encodes the message into its wire format.
    pub fn encode(&self) -> Vec<u8> {
        let mut writer = Writer::with_header(RAFT_MESSAGE, ENVELOPE_BYTES);
        writer.u8(self.body.kind_byte());
        writer.u32(self.from.0 as u32);
        writer.u32(self.to.0 as u32);
        writer.u64(self.term.0);
        encode_body(&mut writer, &self.body);
        writer.finish()
    }

    /// Decodes a message from its wire format. Never panics: any input that
    /// `encode` could not have produced is an error.
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let mut reader = Reader::open(bytes, RAFT_MESSAGE)?;
        let kind_byte = reader.u8()?;
        let from = NodeId(reader.u32()? as usize);
        let to = NodeId(reader.u32()? as usize);
        let term = Term(reader.u64()?);
        let body = decode_body(&mut reader, kind_byte)?;
        reader.finish()?;
        Ok(Message {
            from,
            to,
            term,
            body,
        })
    }
}

fn describe_entries(entries: &[Entry]) -> String {
    match (entries.first(), entries.last()) {
        (Some(first), _) if entries.len() == 1 => format!("[{}]", first.id()),
        (Some(first), Some(last)) => format!("[{}..{}]", first.id(), last.id()),
        _ => "[]".to_string(),
    }
}

fn describe_outcome(outcome: &AppendOutcome) -> String {
    match outcome {
        AppendOutcome::Accepted { match_index } => format!("accepted match={match_index}"),
        AppendOutcome::Rejected {
            rejected_index,
            hint: RejectHint::LogTooShort { last_index },
        } => format!("rejected at={rejected_index} hint=last {last_index}"),
        AppendOutcome::Rejected {
            rejected_index,
            hint: RejectHint::TermConflict { term, first_index },
        } => format!("rejected at={rejected_index} hint=term {term} from {first_index}"),
    }
}

/// The Append rules: entries are consecutive after `prev_log`, their terms
/// never decrease, and none is newer than the leader's term.
fn check_append_entries(
    term: Term,
    prev_log: EntryId,
    entries: &[Entry],
) -> Result<(), &'static str> {
    if prev_log.term > term {
        return Err("prev_log term above the leader's term");
    }
    let mut expected = prev_log;
    for entry in entries {
        if entry.index != expected.index.next() {
            return Err("entries are not consecutive after prev_log");
        }
        if entry.term < expected.term || entry.term > term {
            return Err("entry term out of order");
        }
        if entry.kind == EntryKind::NoOp && !entry.data.is_empty() {
            return Err("no-op entry with data");
        }
        expected = entry.id();
    }
    Ok(())
}

fn outcome_numbers(outcome: &AppendOutcome) -> Vec<u64> {
    match *outcome {
        AppendOutcome::Accepted { match_index } => vec![match_index.0],
        AppendOutcome::Rejected {
            rejected_index,
            hint: RejectHint::LogTooShort { last_index },
        } => vec![rejected_index.0, last_index.0],
        AppendOutcome::Rejected {
            rejected_index,
            hint: RejectHint::TermConflict { term, first_index },
        } => vec![rejected_index.0, term.0, first_index.0],
    }
}

fn check_outcome(outcome: &AppendOutcome) -> Result<(), &'static str> {
    match *outcome {
        AppendOutcome::Accepted { .. } => Ok(()),
        AppendOutcome::Rejected { rejected_index, .. } if rejected_index == LogIndex::ZERO => {
            Err("index 0 always matches and cannot be rejected")
        }
        AppendOutcome::Rejected {
            rejected_index,
            hint: RejectHint::LogTooShort { last_index },
        } if last_index >= rejected_index => Err("log-too-short hint is not short"),
        AppendOutcome::Rejected {
            rejected_index,
            hint: RejectHint::TermConflict { first_index, .. },
        } if first_index == LogIndex::ZERO || first_index > rejected_index => {
            Err("term-conflict hint outside the log")
        }
        AppendOutcome::Rejected { .. } => Ok(()),
    }
}

fn encode_body(writer: &mut Writer, body: &Body) {
    match body {
        Body::PreVote { last_log } | Body::Vote { last_log } => write_entry_id(writer, *last_log),
        Body::PreVoteResponse { granted } | Body::VoteResponse { granted } => writer.bool(*granted),
        Body::Append {
            prev_log,
            commit,
            entries,
        } => {
            write_entry_id(writer, *prev_log);
            writer.u64(commit.0);
            writer.u32(u32::try_from(entries.len()).expect("entry count fits u32"));
            for entry in entries {
                writer.u64(entry.term.0);
                writer.u64(entry.index.0);
                writer.u8(match entry.kind {
                    EntryKind::Normal => 0,
                    EntryKind::NoOp => 1,
                });
                writer.counted_bytes(&entry.data);
            }
        }
        Body::AppendResponse { outcome } => encode_outcome(writer, outcome),
        Body::Heartbeat { commit, read_round } => {
            writer.u64(commit.0);
            writer.u64(*read_round);
        }
        Body::HeartbeatResponse { read_round } => writer.u64(*read_round),
        Body::InstallSnapshot {
            snapshot,
            offset,
            data,
            last,
        } => {
            write_entry_id(writer, snapshot.id());
            writer.u64(*offset);
            writer.counted_bytes(data);
            writer.bool(*last);
        }
        Body::SnapshotResponse {
            snapshot_index,
            next_offset,
            accepted,
        } => {
            writer.u64(snapshot_index.0);
            writer.u64(*next_offset);
            writer.bool(*accepted);
        }
    }
}

fn encode_outcome(writer: &mut Writer, outcome: &AppendOutcome) {
    match *outcome {
        AppendOutcome::Accepted { match_index } => {
            writer.u8(0);
            writer.u64(match_index.0);
        }
        AppendOutcome::Rejected {
            rejected_index,
            hint,
        } => {
            writer.u8(1);
            writer.u64(rejected_index.0);
            match hint {
                RejectHint::LogTooShort { last_index } => {
                    writer.u8(0);
                    writer.u64(last_index.0);
                }
                RejectHint::TermConflict { term, first_index } => {
                    writer.u8(1);
                    writer.u64(term.0);
                    writer.u64(first_index.0);
                }
            }
        }
    }
}

fn decode_body(reader: &mut Reader<'_>, kind_byte: u8) -> Result<Body, DecodeError> {
    let body = match kind_byte {
        kind::PRE_VOTE => Body::PreVote {
            last_log: read_entry_id(reader)?,
        },
        kind::PRE_VOTE_RESPONSE => Body::PreVoteResponse {
            granted: reader.bool("granted")?,
        },
        kind::VOTE => Body::Vote {
            last_log: read_entry_id(reader)?,
        },
        kind::VOTE_RESPONSE => Body::VoteResponse {
            granted: reader.bool("granted")?,
        },
        kind::APPEND => decode_append(reader)?,
        kind::APPEND_RESPONSE => Body::AppendResponse {
            outcome: decode_outcome(reader)?,
        },
        kind::HEARTBEAT => Body::Heartbeat {
            commit: LogIndex(reader.u64()?),
            read_round: reader.u64()?,
        },
        kind::HEARTBEAT_RESPONSE => Body::HeartbeatResponse {
            read_round: reader.u64()?,
        },
        kind::INSTALL_SNAPSHOT => {
            let id = read_entry_id(reader)?;
            Body::InstallSnapshot {
                snapshot: SnapshotMeta {
                    index: id.index,
                    term: id.term,
                },
                offset: reader.u64()?,
                data: read_byte_string(reader, "data")?,
                last: reader.bool("last")?,
            }
        }
        kind::SNAPSHOT_RESPONSE => Body::SnapshotResponse {
            snapshot_index: LogIndex(reader.u64()?),
            next_offset: reader.u64()?,
            accepted: reader.bool("accepted")?,
        },
        other => return Err(DecodeError::UnknownKind(other)),
    };
    Ok(body)
}

fn decode_append(reader: &mut Reader<'_>) -> Result<Body, DecodeError> {
    let prev_log = read_entry_id(reader)?;
    let commit = LogIndex(reader.u64()?);
    let count = reader.u32()?;
    // No capacity hint from `count`: a forged count must not allocate. Each
    // loop turn consumes input, so the loop ends with the input.
    let mut entries = Vec::new();
    for _ in 0..count {
        let term = Term(reader.u64()?);
        let index = LogIndex(reader.u64()?);
        let kind = match reader.u8()? {
            0 => EntryKind::Normal,
            1 => EntryKind::NoOp,
            other => {
                return Err(DecodeError::BadValue {
                    what: "entry kind",
                    value: u64::from(other),
                })
            }
        };
        let data = read_byte_string(reader, "entry data")?;
        entries.push(Entry {
            term,
            index,
            kind,
            data,
        });
    }
    Ok(Body::Append {
        prev_log,
        commit,
        entries,
    })
}

fn decode_outcome(reader: &mut Reader<'_>) -> Result<AppendOutcome, DecodeError> {
    match reader.u8()? {
        0 => Ok(AppendOutcome::Accepted {
            match_index: LogIndex(reader.u64()?),
        }),
        1 => {
            let rejected_index = LogIndex(reader.u64()?);
            let hint = match reader.u8()? {
                0 => RejectHint::LogTooShort {
                    last_index: LogIndex(reader.u64()?),
                },
                1 => RejectHint::TermConflict {
                    term: Term(reader.u64()?),
                    first_index: LogIndex(reader.u64()?),
                },
                other => {
                    return Err(DecodeError::BadValue {
                        what: "hint",
                        value: u64::from(other),
                    })
                }
            };
            Ok(AppendOutcome::Rejected {
                rejected_index,
                hint,
            })
        }
        other => Err(DecodeError::BadValue {
            what: "outcome",
            value: u64::from(other),
        }),
    }
}

fn write_entry_id(writer: &mut Writer, id: EntryId) {
    writer.u64(id.term.0);
    writer.u64(id.index.0);
}

fn read_entry_id(reader: &mut Reader<'_>) -> Result<EntryId, DecodeError> {
    let term = Term(reader.u64()?);
    let index = LogIndex(reader.u64()?);
    Ok(EntryId { term, index })
}

fn read_byte_string(reader: &mut Reader<'_>, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    Ok(reader.counted_bytes(what, BYTE_STRING_BYTES_MAX)?.to_vec())
}
