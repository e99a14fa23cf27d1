//! Every hand-written binary format of the project, in one list: what each
//! frames, who writes it and who reads it, and the magic and version that
//! open it. A codec names its format here and nowhere else spells its bytes.
//!
//! Magics tell formats apart where several meet on one channel; a format
//! alone on its channel has none (an empty magic) and opens with its
//! version. The channels:
//!
//! - a customer-DB datagram: [`SEQUENCER_MESSAGE`], [`MESSAGE_BATCH`] or
//!   [`STATE_TRANSFER`], routed by magic (`sequencer_driver/inbound.rs`);
//! - a customer-DB log entry: [`SEQUENCER_RECORD`];
//! - a customer-DB snapshot's data, and what a state transfer ships:
//!   [`SNAPSHOT_IMAGE`];
//! - a delivered broadcast's payload: a [`REQUEST_BATCH`], or (in logs
//!   written before batching) one command in the [`COMMAND_LOG_ENCODING`]
//!   or its JSON predecessor, which opens with [`JSON_COMMAND_OPENING`];
//! - a product-DB datagram: [`RAFT_MESSAGE`];
//! - a product-DB log entry: [`RAFT_LOG_RECORD`], whose data is a
//!   [`RAFT_PROPOSAL`] (or nothing, for a no-op); its hard state file:
//!   [`RAFT_HARD_STATE`];
//! - any replica's datagram, around the above: [`TRANSPORT_ENVELOPE`].
//!
//! The storage layer's own layouts carry no header: their shape is fixed,
//! and a changed one would be a new file name (`wal/frame.rs`: `len u32 |
//! crc32 u32 | payload`; `wal/segment.rs`: a frame of `index u64 | entry`;
//! `wal/snapshot.rs`: a frame of `index u64 | term u64 | data`;
//! `wal/hard_state.rs`: a frame of the caller's bytes). Neither does the
//! Raft driver's read context (`raft_driver/codec.rs`), which never leaves
//! the process.
//!
//! Below, a compile-time check that no two magics are the same (so none of
//! one channel's can be mistaken for another's) and that a request batch
//! cannot be read as a lone command.

/// How an encoding opens: the format's magic (empty for a format alone on
/// its channel), then its version byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// The bytes that name the format; empty if nothing else meets it.
    pub magic: &'static [u8],
    /// The layout's version: a reader refuses any other.
    pub version: u8,
}

/// One sequencer core message (`sequencer/codec.rs`, layout there): the
/// customer DB's core thread writes it, every peer's router reads it.
/// Version 5 (1: no view stamp, 2: no recovery, 3: no read barrier, 4: no
/// earlier runs in the watermark).
pub const SEQUENCER_MESSAGE: Format = Format {
    magic: b"SQ",
    version: 5,
};

/// One sequencer log record (`sequencer/codec.rs`): the core decides it,
/// the driver's storage writes it to the WAL and replays it at recovery.
/// Still version 1: later record kinds were added without changing old ones.
pub const SEQUENCER_RECORD: Format = Format {
    magic: b"SR",
    version: 1,
};

/// Several sequencer messages in one datagram
/// (`sequencer_driver/batch.rs`): the core thread's flush packs them, the
/// router unpacks them.
pub const MESSAGE_BATCH: Format = Format {
    magic: b"SB",
    version: 1,
};

/// A state-transfer request or chunk
/// (`sequencer_driver/transfer_message.rs`): the fetching and the serving
/// member's state-transfer threads write and read it. Version 2: a chunk
/// request says how recent the image must be, and a donor may answer
/// "not yet" (it is taking one on demand).
pub const STATE_TRANSFER: Format = Format {
    magic: b"ST",
    version: 2,
};

/// A customer-DB snapshot image, the application state with the point it
/// stands for (`sequencer_driver/image.rs`): the apply thread writes it to
/// the snapshot file, recovery and a state-transfer fetcher read it.
pub const SNAPSHOT_IMAGE: Format = Format {
    magic: b"SI",
    version: 1,
};

/// The client requests one broadcast carries
/// (`sequencer_driver/request_batch.rs`): the core thread writes it, every
/// member's apply thread reads it.
pub const REQUEST_BATCH: Format = Format {
    magic: b"RB",
    version: 1,
};

/// How a database's command is stored in its log and sent between its
/// replicas (`rpc/log_encoding.rs`): the version, then the command's
/// protobuf message. Written by the frontends' database clients' servers,
/// read by every replica's apply thread.
pub const COMMAND_LOG_ENCODING: Format = Format {
    magic: b"",
    version: 1,
};

/// The first byte of a command in the encoding before
/// [`COMMAND_LOG_ENCODING`] (version 0: JSON, no version byte), which old
/// logs still hold.
pub const JSON_COMMAND_OPENING: u8 = b'{';

/// One Raft message (`raft/message.rs`, layout there): the core writes it,
/// the peer's driver decodes it for its core.
pub const RAFT_MESSAGE: Format = Format {
    magic: b"",
    version: 1,
};

/// One Raft log entry as the WAL stores it (`raft_driver/codec.rs`): the
/// driver's storage writes it and reads it back at recovery.
pub const RAFT_LOG_RECORD: Format = Format {
    magic: b"",
    version: 1,
};

/// The data of a normal Raft entry: the proposal's tag, then the command
/// (`raft_driver/codec.rs`): the proposing driver writes it, every apply
/// thread reads it.
pub const RAFT_PROPOSAL: Format = Format {
    magic: b"",
    version: 1,
};

/// Raft's hard state: term, vote, commit (`raft_driver/codec.rs`): the
/// driver's storage writes it to the hard state file and reads it at start.
pub const RAFT_HARD_STATE: Format = Format {
    magic: b"",
    version: 1,
};

/// The transport's header, inside the frame of every datagram: sender and
/// recipient (`transport/envelope.rs`): every replica's transport writes
/// and reads it.
pub const TRANSPORT_ENVELOPE: Format = Format {
    magic: b"",
    version: 1,
};

/// Every format with a magic.
const WITH_MAGIC: [Format; 6] = [
    SEQUENCER_MESSAGE,
    SEQUENCER_RECORD,
    MESSAGE_BATCH,
    STATE_TRANSFER,
    SNAPSHOT_IMAGE,
    REQUEST_BATCH,
];

/// True if the two byte strings are equal (`==` is not `const`).
const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut at = 0;
    while at < a.len() {
        if a[at] != b[at] {
            return false;
        }
        at += 1;
    }
    true
}

/// True if every magic is two bytes and no two are the same.
const fn magics_are_distinct(formats: &[Format]) -> bool {
    let mut first = 0;
    while first < formats.len() {
        if formats[first].magic.len() != 2 {
            return false;
        }
        let mut second = first + 1;
        while second < formats.len() {
            if same_bytes(formats[first].magic, formats[second].magic) {
                return false;
            }
            second += 1;
        }
        first += 1;
    }
    true
}

const _: () = assert!(magics_are_distinct(&WITH_MAGIC));
// A delivered payload that does not open with the request batch's magic is
// one command of its own: its first byte is the command encoding's version
// or JSON's opening brace, never the magic's first byte.
const _: () = assert!(REQUEST_BATCH.magic[0] != COMMAND_LOG_ENCODING.version);
const _: () = assert!(REQUEST_BATCH.magic[0] != JSON_COMMAND_OPENING);
