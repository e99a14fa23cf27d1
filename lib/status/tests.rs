//! What a replica reports reaches `cluster-status`: its gRPC form, the
//! bytes on the wire, the text line and the JSON.

use protobuf::Message as _;
use serde_json::json;

use super::{status_json, status_line, ProcessStatus};
use crate::config::Component;
use crate::pb::marketplace::StatusReply;
use crate::replication::{ReplicaStatus, ViewSummary};
use crate::rpc::status_reply;

/// `status` as `cluster-status` gets it from replica 1 of `component`.
fn probed(component: Component, status: &ReplicaStatus) -> ProcessStatus {
    let bytes = status_reply(status).write_to_bytes().expect("encodes");
    ProcessStatus {
        component,
        index: 1,
        address: "127.0.0.1:7001".parse().expect("an address"),
        up: true,
        replication: Some(StatusReply::parse_from_bytes(&bytes).expect("decodes")),
        calls: None,
    }
}

#[test]
fn contradictions_are_a_column_of_their_own_after_every_other() {
    let raft = ReplicaStatus {
        protocol: "raft".into(),
        index: 1,
        role: "leader".into(),
        term: 3,
        leader: Some(1),
        commit_index: 10,
        applied_index: 9,
        contradictions: 7,
        ..ReplicaStatus::default()
    };
    let process = probed(Component::ProductDb, &raft);
    assert_eq!(
        status_line(&process),
        "product-db         1  127.0.0.1:7001        up   protocol=raft role=leader term=3 \
         leader=1 commit=10 applied=9 contradictions=7"
    );
    assert_eq!(
        status_json(&process)["replication"]["contradictions"],
        json!(7)
    );
    let sequencer = ReplicaStatus {
        protocol: "sequencer".into(),
        role: "member".into(),
        view: Some(ViewSummary {
            number: 2,
            members: vec![0, 1, 2],
            in_view: true,
            drops: 5,
            ..ViewSummary::default()
        }),
        contradictions: 4,
        ..ReplicaStatus::default()
    };
    let process = probed(Component::CustomerDb, &sequencer);
    let line = status_line(&process);
    assert!(
        line.ends_with(" drops=5 incarnation=0 contradictions=4"),
        "{line}"
    );
    let json = status_json(&process);
    assert_eq!(json["replication"]["contradictions"], json!(4));
    assert_eq!(json["replication"]["view"]["drops"], json!(5));
}
