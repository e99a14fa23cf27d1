//! The datagram router (inbound.rs): every kind of garbage a peer could send is dropped
//! and counted, and good messages reach the right inbox.

use std::sync::Arc;

use crossbeam_channel::{bounded, Receiver};

use crate::sequencer::{Body, GlobalSeq, MemberId, Message, ViewStamp, Watermark};
use crate::sequencer_driver::batch;
use crate::sequencer_driver::events::TransferTask;
use crate::sequencer_driver::inbound::Router;
use crate::sequencer_driver::status::SharedStatus;
use crate::sequencer_driver::transfer_message::TransferMessage;
use crate::transport::Datagram;
use crate::wire::formats::{SEQUENCER_MESSAGE, STATE_TRANSFER};

#[test]
fn garbage_is_counted_and_good_messages_are_routed() {
    let (router, transfer, status) = member_1_router();
    let (heartbeat, request) = (heartbeat(), chunk_request());
    let garbage = garbage(&heartbeat, &request);
    let count = garbage.len() as u64;
    for (peer, payload) in garbage {
        assert!(router.route(Datagram { peer, payload }).is_empty());
    }
    let core = router.route(Datagram {
        peer: 0,
        payload: heartbeat,
    });
    let transferred = router.route(Datagram {
        peer: 2,
        payload: request,
    });
    assert_eq!(status.status(None).malformed_datagrams, count);
    assert_eq!(core.len(), 1);
    assert_eq!(core[0].0, MemberId(0));
    assert!(
        transferred.is_empty(),
        "a transfer message is not the core's"
    );
    assert!(matches!(
        transfer.try_recv(),
        Ok(TransferTask::FromPeer {
            peer: MemberId(2),
            ..
        })
    ));
}

#[test]
fn a_batch_reaches_the_core_as_its_messages_in_order() {
    // A batch datagram carries several core messages; the core must see
    // each, in the sender's order, and a bad one inside must not stop the
    // rest (it is counted as malformed).
    let (router, _transfer, status) = member_1_router();
    let moved = |held: u64| {
        let mut watermark = Watermark::empty(3);
        watermark.held_up_to = GlobalSeq(held);
        Message {
            stamp: ViewStamp::default(),
            watermark,
            body: Body::Heartbeat,
        }
        .encode()
    };
    let messages = vec![moved(1), b"SQ garbage".to_vec(), moved(2), moved(3)];
    let packed = batch::pack(messages);
    assert_eq!(packed.len(), 1, "four small messages fit one datagram");
    let held: Vec<u64> = packed
        .into_iter()
        .flat_map(|payload| router.route(Datagram { peer: 2, payload }))
        .map(|(from, message)| {
            assert_eq!(from, MemberId(2), "only peer 2's messages were sent");
            message.watermark.held_up_to.0
        })
        .collect();
    assert_eq!(held, vec![1, 2, 3]);
    assert_eq!(status.status(None).malformed_datagrams, 1);
}

/// Member 1's router, with the transfer thread's end of its inbox and the
/// status it counts drops in.
fn member_1_router() -> (Router, Receiver<TransferTask>, Arc<SharedStatus>) {
    let (transfer_inbox, transfer) = bounded(16);
    let status = Arc::new(SharedStatus::new(GlobalSeq(0)));
    let router = Router {
        me: MemberId(1),
        transfer_inbox,
        status: Arc::clone(&status),
    };
    (router, transfer, status)
}

fn heartbeat() -> Vec<u8> {
    Message {
        stamp: ViewStamp::default(),
        watermark: Watermark::empty(3),
        body: Body::Heartbeat,
    }
    .encode()
}

fn chunk_request() -> Vec<u8> {
    TransferMessage::ChunkRequest {
        snapshot: 0,
        offset: 0,
        at_least: 0,
    }
    .encode()
}

/// Datagrams (peer, payload) that must all be dropped, for member 1 of 3.
fn garbage(heartbeat: &[u8], request: &[u8]) -> Vec<(usize, Vec<u8>)> {
    vec![
        (0, vec![]),
        (0, b"x".to_vec()),
        (0, SEQUENCER_MESSAGE.magic.to_vec()),
        (0, heartbeat[..heartbeat.len() - 1].to_vec()),
        (
            2,
            [STATE_TRANSFER.magic, &[STATE_TRANSFER.version, 9]].concat(),
        ),
        (2, request[..5].to_vec()),
        (1, heartbeat.to_vec()),      // from itself
        (70_000, heartbeat.to_vec()), // no such member
    ]
}
