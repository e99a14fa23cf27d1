//! The customer DB on five real customer-db processes replicated by the
//! rotating-sequencer broadcast, with 15% of UDP packets dropped: many
//! concurrent clients create accounts, log in and fill carts through
//! different replicas; afterwards every replica's state is identical and
//! every acknowledged operation is there exactly once. A replica killed with
//! kill -9 and restarted catches up and serves consistent reads.

mod support;

use std::time::Duration;

use marketplace::customer::{CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult};
use marketplace::market::{ItemId, RequestId, Role, SessionToken};
use marketplace::rpc::DatabaseClient;
use support::{Cluster, Options};

const REPLICAS: usize = 5;
const CLIENTS: usize = 6;
const ADDS_PER_CLIENT: u32 = 15;
const TIMEOUT: Duration = Duration::from_millis(500);

type CustomerClient = DatabaseClient<CustomerRequest, CustomerResult>;

fn run(client: &CustomerClient, command: CustomerCommand) -> CustomerOutcome {
    let request = CustomerRequest {
        request_id: RequestId::random(),
        now_ms: 0,
        command,
    };
    match client.execute(&request).expect("the customer DB answers") {
        Ok(outcome) => outcome,
        Err(error) => panic!("{error}"),
    }
}

fn cart_units(client: &CustomerClient, session: &SessionToken) -> u32 {
    match run(
        client,
        CustomerCommand::CartShow {
            session: session.clone(),
        },
    ) {
        CustomerOutcome::Cart(lines) => lines.iter().map(|l| l.quantity).sum(),
        other => panic!("unexpected {other:?}"),
    }
}

fn item() -> ItemId {
    "1-1".parse().unwrap()
}

/// One client's life: account, login, `ADDS_PER_CLIENT` single-unit adds.
fn shop(client: CustomerClient, number: usize) -> SessionToken {
    let name = format!("buyer{number}");
    let password = "pw".to_string();
    let create = CustomerCommand::CreateAccount {
        role: Role::Buyer,
        name: name.clone(),
        password: password.clone(),
    };
    assert!(matches!(
        run(&client, create),
        CustomerOutcome::AccountCreated { .. }
    ));
    let token = SessionToken(String::new());
    let session = match run(
        &client,
        CustomerCommand::Login {
            role: Role::Buyer,
            name,
            password,
            token,
        },
    ) {
        CustomerOutcome::LoggedIn { session, .. } => session,
        other => panic!("unexpected {other:?}"),
    };
    for _ in 0..ADDS_PER_CLIENT {
        let add = CustomerCommand::CartAdd {
            session: session.clone(),
            item: item(),
            quantity: 1,
            available: 1_000_000,
        };
        assert!(matches!(run(&client, add), CustomerOutcome::Cart(_)));
    }
    session
}

#[test]
fn replicas_agree_under_packet_loss_and_a_restarted_replica_catches_up() {
    let mut cluster = Cluster::start(Options {
        customer_dbs: REPLICAS,
        seller_servers: 1,
        buyer_servers: 1,
        ..Options::default()
    });
    let admin = cluster.customer_db();
    for replica in 0..REPLICAS {
        let settings = r#"{"drop_outgoing_probability": 0.15, "seed": 1}"#;
        admin
            .set_faults(replica, settings, TIMEOUT)
            .expect("the fault switch is set");
    }
    let shoppers: Vec<_> = (0..CLIENTS)
        .map(|number| {
            let client = cluster.customer_db().prefer(number);
            std::thread::spawn(move || shop(client, number))
        })
        .collect();
    let sessions: Vec<SessionToken> = shoppers
        .into_iter()
        .map(|t| t.join().expect("a client failed"))
        .collect();
    for replica in 0..REPLICAS {
        admin
            .set_faults(replica, r#"{}"#, TIMEOUT)
            .expect("the fault switch is cleared");
    }
    cluster.wait_converged("customer-db", &admin);
    for replica in 0..REPLICAS {
        let reader = cluster.customer_db().prefer(replica);
        for session in &sessions {
            assert_eq!(
                cart_units(&reader, session),
                ADDS_PER_CLIENT,
                "replica {replica}: each add applied once"
            );
        }
    }

    // While member 2 is down the order stalls at its next sequencing turn;
    // the adds below wait, and go through once it is back.
    cluster.kill("customer-db", 2);
    let writer = cluster.customer_db().prefer(0);
    let adds = {
        let sessions = sessions.clone();
        std::thread::spawn(move || {
            for session in sessions {
                let add = CustomerCommand::CartAdd {
                    session,
                    item: item(),
                    quantity: 1,
                    available: 1_000_000,
                };
                run(&writer, add);
            }
        })
    };
    cluster.restart("customer-db", 2);
    adds.join()
        .expect("the adds went through once member 2 was back");
    cluster.wait_converged("customer-db", &admin);
    let reader = cluster.customer_db().prefer(2);
    for session in &sessions {
        assert_eq!(
            cart_units(&reader, session),
            ADDS_PER_CLIENT + 1,
            "the restarted replica caught up"
        );
    }
}
