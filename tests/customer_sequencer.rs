//! The customer DB on five real customer-db processes replicated by the
//! rotating-sequencer broadcast, with 15% of UDP packets dropped: many
//! concurrent clients create accounts, log in and fill carts through
//! different replicas; afterwards every replica's state is identical and
//! every acknowledged operation is there exactly once. A replica killed with
//! kill -9 and restarted catches up and serves consistent reads.

mod support;

use std::time::{Duration, Instant};

use marketplace::customer::{CustomerCommand, CustomerOutcome, CustomerRequest, CustomerResult};
use marketplace::market::{ItemId, MarketError, RequestId, Role, SessionToken};
use marketplace::rpc::DatabaseClient;
use support::{wait_until, Cluster, Options};

const REPLICAS: usize = 5;
const CLIENTS: usize = 6;
const ADDS_PER_CLIENT: u32 = 15;
const TIMEOUT: Duration = Duration::from_millis(500);

type CustomerClient = DatabaseClient<CustomerRequest, CustomerResult>;

fn run(client: &CustomerClient, command: CustomerCommand) -> CustomerOutcome {
    let request = CustomerRequest {
        request_id: RequestId::random(),
        now_ms: 0,
        read_by: None,
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

/// Adds one unit of `item()` to the session's cart; the answer is the cart.
fn add_one(client: &CustomerClient, session: &SessionToken) {
    let add = CustomerCommand::CartAdd {
        session: session.clone(),
        item: item(),
        quantity: 1,
        available: 1_000_000,
    };
    assert!(matches!(run(client, add), CustomerOutcome::Cart(_)));
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
        add_one(&client, &session);
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

    // While member 2 is down the others go on in a view without it (the
    // adds below are answered); once back it catches up and serves the
    // same state.
    cluster.kill("customer-db", 2);
    let writer = cluster.customer_db().prefer(0);
    let adds = {
        let sessions = sessions.clone();
        std::thread::spawn(move || {
            for session in sessions {
                add_one(&writer, &session);
            }
        })
    };
    cluster.restart("customer-db", 2);
    adds.join().expect("the adds went through");
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

/// Cuts customer-db `isolated` off from the others, both ways, or heals.
fn cut_off(admin: &CustomerClient, isolated: Option<usize>) {
    for replica in 0..REPLICAS {
        let cut: Vec<usize> = match isolated {
            None => Vec::new(),
            Some(victim) if victim == replica => (0..REPLICAS).filter(|&r| r != replica).collect(),
            Some(victim) => vec![victim],
        };
        let settings = format!(r#"{{"cut_peers": {cut:?}}}"#);
        admin
            .set_faults(replica, &settings, TIMEOUT)
            .expect("the fault switch is set");
    }
}

#[test]
fn a_partitioned_member_answers_nothing_stale_and_rejoins_when_healed() {
    // One member's UDP is cut both ways for 30 s while it keeps running.
    // Meanwhile every acknowledged add is seen by the next read, and the
    // reads start at the cut-off member (which must refuse rather than
    // answer from its old state). Healed, it rejoins the turns, and every
    // member holds the same state, with every add exactly once.
    const HELD: Duration = Duration::from_secs(30);
    let cluster = Cluster::start(Options {
        customer_dbs: REPLICAS,
        seller_servers: 1,
        buyer_servers: 1,
        ..Options::default()
    });
    let admin = cluster.customer_db();
    let session = shop(cluster.customer_db(), 0);
    cut_off(&admin, Some(2));
    let writer = cluster.customer_db().prefer(0);
    let cut_at = Instant::now();
    let mut expected = ADDS_PER_CLIENT;
    while cut_at.elapsed() < HELD {
        add_one(&writer, &session);
        expected += 1;
        // A fresh client each time, so that each read tries member 2 first.
        let reader = cluster.customer_db().prefer(2);
        assert_eq!(cart_units(&reader, &session), expected, "a stale read");
        std::thread::sleep(Duration::from_millis(50));
    }
    let isolated = admin.status(2, TIMEOUT).expect("member 2 runs");
    assert!(
        isolated.get_changing() || !isolated.get_view_members().contains(&2),
        "the cut-off member does not work in the majority's view"
    );
    cut_off(&admin, None);
    wait_until(
        "member 2 takes turns again",
        Duration::from_secs(30),
        || {
            (0..REPLICAS).all(|replica| {
                admin.status(replica, TIMEOUT).is_ok_and(|status| {
                    !status.get_changing() && status.get_view_members().len() == REPLICAS
                })
            })
        },
    );
    cluster.wait_converged("customer-db", &admin);
    for replica in 0..REPLICAS {
        let reader = cluster.customer_db().prefer(replica);
        assert_eq!(cart_units(&reader, &session), expected, "replica {replica}");
    }
}

/// Logs `name` in (creating the account first) through `client`.
fn account_and_session(client: &CustomerClient, name: &str) -> SessionToken {
    let create = CustomerCommand::CreateAccount {
        role: Role::Buyer,
        name: name.to_string(),
        password: "pw".to_string(),
    };
    assert!(matches!(
        run(client, create),
        CustomerOutcome::AccountCreated { .. }
    ));
    let login = CustomerCommand::Login {
        role: Role::Buyer,
        name: name.to_string(),
        password: "pw".to_string(),
        token: SessionToken(String::new()),
    };
    match run(client, login) {
        CustomerOutcome::LoggedIn { session, .. } => session,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn sessions_end_on_time_when_one_member_receives_every_call() {
    // The customer DB's time is the median of the members' latest clock
    // readings, so a member no client talks to must keep reading its clock
    // into the log. Every member reads once (an account each), then every
    // call goes to member 0 only: an idle session must still end about one
    // timeout after its last use, while a busy one stays.
    const SESSION_TIMEOUT: Duration = Duration::from_millis(2_000);
    const GRACE: Duration = Duration::from_secs(3);
    let cluster = Cluster::start(Options {
        customer_dbs: REPLICAS,
        seller_servers: 1,
        buyer_servers: 1,
        session_timeout_ms: SESSION_TIMEOUT.as_millis() as u64,
        ..Options::default()
    });
    for member in 1..REPLICAS {
        account_and_session(
            &cluster.customer_db().prefer(member),
            &format!("reader{member}"),
        );
    }
    let member_0 = cluster.customer_db().prefer(0);
    let idle = account_and_session(&member_0, "idle");
    let busy = account_and_session(&member_0, "busy");
    let idle_since = Instant::now();
    let touch = |session: &SessionToken| {
        member_0.execute(&CustomerRequest {
            request_id: RequestId::random(),
            now_ms: 0,
            read_by: None,
            command: CustomerCommand::Touch {
                role: Role::Buyer,
                session: session.clone(),
            },
        })
    };
    // The busy session is used every 100 ms through the whole wait.
    while idle_since.elapsed() < SESSION_TIMEOUT + GRACE {
        assert!(matches!(touch(&busy), Ok(Ok(_))), "the busy session lives");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        matches!(touch(&idle), Ok(Err(MarketError::Unauthenticated(_)))),
        "the idle session ended within {:?} of its last use",
        SESSION_TIMEOUT + GRACE
    );
}

#[test]
fn a_member_restarted_with_an_empty_data_folder_recovers_under_a_new_incarnation() {
    // Member 2's disk is replaced: it is killed, its data folder deleted,
    // and it starts again with nothing. It must not take part with what it
    // forgot: it asks the group, installs a view above every view the
    // others report, and numbers its requests in a new incarnation (its
    // first life's numbers 1, 2, ... are taken). Then it is taken back into
    // the turns, serves writes of its own, and holds the same state.
    let mut cluster = Cluster::start(Options {
        customer_dbs: REPLICAS,
        seller_servers: 1,
        buyer_servers: 1,
        ..Options::default()
    });
    let admin = cluster.customer_db();
    // Its first life broadcasts requests of its own.
    let session = shop(cluster.customer_db_member(2), 2);
    cluster.kill("customer-db", 2);
    let folder = cluster.data_dir("customer-db", 2);
    std::fs::remove_dir_all(&folder).expect("the data folder is deleted");
    let writer = cluster.customer_db().prefer(0);
    for _ in 0..5 {
        add_one(&writer, &session);
    }
    cluster.restart("customer-db", 2);
    wait_until(
        "member 2 recovers and takes turns again",
        Duration::from_secs(30),
        || {
            admin.status(2, TIMEOUT).is_ok_and(|status| {
                status.get_incarnation() > 0
                    && status.get_role() == "member"
                    && status.get_view_members().len() == REPLICAS
            })
        },
    );
    let status = admin.status(2, TIMEOUT).expect("member 2 answers");
    println!(
        "member 2 recovered in incarnation {}, now in view {}",
        status.get_incarnation(),
        status.get_view()
    );
    // Its own requests now: answered by it alone, applied once everywhere.
    let own = cluster.customer_db_member(2);
    for _ in 0..5 {
        add_one(&own, &session);
    }
    cluster.wait_converged("customer-db", &admin);
    for replica in 0..REPLICAS {
        let reader = cluster.customer_db_member(replica);
        assert_eq!(
            cart_units(&reader, &session),
            ADDS_PER_CLIENT + 10,
            "replica {replica}: every add applied once"
        );
    }
    let log = cluster.log("customer-db", 2);
    assert!(
        log.contains("its requests are numbered in incarnation"),
        "member 2 says how it recovered"
    );
}
