//! The nemesis: on a seeded random schedule, one fault at a time, crash and
//! restart frontends, product-DB followers and leaders and customer-DB
//! members; pause (SIGSTOP) and resume a product-DB leader or a
//! customer-DB member; and make a database's replicas lose UDP datagrams.
//! Each fault is held for a random while, healed, and followed by a quiet
//! gap. It stops by itself at its deadline, and heals whatever it broke.
//! On hosts (`chaos --hosts`) it also cuts hosts off with real firewall
//! rules and makes the wire lose packets (`host_faults.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Component;
use crate::rpc::DatabaseKind;

use super::cluster::{ChaosCluster, Member};
use super::history::RunClock;
use super::host_faults;

/// On hosts, the share of faults (percent) drawn from the hosts' own.
const HOST_FAULT_PERCENT: u32 = 40;

/// The kinds of fault, for the summary's counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// kill -9 and restart of a seller or buyer server.
    KillFrontend,
    /// kill -9 and restart of a product-DB follower.
    KillProductFollower,
    /// kill -9 and restart of the product-DB leader.
    KillProductLeader,
    /// SIGSTOP, then SIGCONT, of the product-DB leader.
    PauseProductLeader,
    /// kill -9 and restart of a customer-DB member.
    KillCustomerMember,
    /// SIGSTOP, then SIGCONT, of a customer-DB member.
    PauseCustomerMember,
    /// kill -9 of two customer-DB members, kept down 5-30 s (the rest go on
    /// in a view without them), then restarted (they rejoin).
    KillTwoCustomerMembers,
    /// One customer-DB member's UDP cut both ways for 5-30 s while it runs.
    PartitionCustomerMember,
    /// A customer-DB member paused for 1-6 s: longer than the suspicion
    /// time, so the others change views while it sleeps, and it wakes up
    /// believing the old view.
    PauseCustomerMemberAcrossViewChange,
    /// kill -9 of a customer-DB member, its data folder deleted (a
    /// replaced disk), restarted 1-10 s later: it must recover from the
    /// group under a new incarnation (docs/SEQUENCER.md, section 5.7).
    WipeCustomerMember,
    /// Loss of a share of the product DB's datagrams.
    ProductUdpLoss,
    /// Loss of a share of the customer DB's datagrams.
    CustomerUdpLoss,
    /// On hosts: the product-DB leader's host cut off (every protocol,
    /// both ways); the client host sometimes with it.
    CutProductLeaderHost,
    /// On hosts: a customer-DB member's host cut off; the client host
    /// sometimes with it.
    CutCustomerMemberHost,
    /// On hosts: two server hosts cut off from the other three, frontends
    /// on both sides; the client host on either side.
    SplitHosts,
    /// On hosts: every host drops a share of the packets it receives.
    HostPacketLoss,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FaultKind::KillFrontend => "kill -9 + restart a frontend",
            FaultKind::KillProductFollower => "kill -9 + restart a product-DB follower",
            FaultKind::KillProductLeader => "kill -9 + restart the product-DB leader",
            FaultKind::PauseProductLeader => "pause + resume the product-DB leader",
            FaultKind::KillCustomerMember => "kill -9 + restart a customer-DB member",
            FaultKind::PauseCustomerMember => "pause + resume a customer-DB member",
            FaultKind::KillTwoCustomerMembers => "kill -9 two customer-DB members, 5-30 s down",
            FaultKind::PartitionCustomerMember => "partition a customer-DB member, 5-30 s",
            FaultKind::PauseCustomerMemberAcrossViewChange => {
                "pause a customer-DB member across a view change"
            }
            FaultKind::WipeCustomerMember => {
                "kill -9 a customer-DB member, delete its data folder, restart"
            }
            FaultKind::ProductUdpLoss => "UDP loss on the product DB",
            FaultKind::CustomerUdpLoss => "UDP loss on the customer DB",
            FaultKind::CutProductLeaderHost => "cut off the product-DB leader's host, 3-15 s",
            FaultKind::CutCustomerMemberHost => "cut off a customer-DB member's host, 5-30 s",
            FaultKind::SplitHosts => "split the hosts 2 | 3, frontends on both sides, 3-15 s",
            FaultKind::HostPacketLoss => "packet loss on every host's wire",
        })
    }
}

/// One fault as it happened.
#[derive(Clone, Debug)]
pub struct FaultEvent {
    /// Its kind.
    pub kind: FaultKind,
    /// When it struck, on the run's clock (µs).
    pub at: u64,
    /// How long it was held.
    pub held: Duration,
    /// What it struck.
    pub detail: String,
}

/// What the nemesis did.
#[derive(Clone, Debug, Default)]
pub struct FaultLog {
    /// Every fault, in order.
    pub events: Vec<FaultEvent>,
    /// Faults it could not carry out (no leader found, a restart that
    /// failed), with why.
    pub failures: Vec<String>,
}

impl FaultLog {
    /// Faults per kind.
    pub fn counts(&self) -> BTreeMap<FaultKind, usize> {
        let mut counts = BTreeMap::new();
        for event in &self.events {
            *counts.entry(event.kind).or_insert(0) += 1;
        }
        counts
    }
}

/// How the nemesis behaves.
#[derive(Clone, Debug)]
pub struct NemesisPlan {
    /// Seed of the schedule.
    pub seed: u64,
    /// When to stop.
    pub duration: Duration,
    /// At most this many faults.
    pub max_faults: usize,
}

/// Runs the schedule against `cluster` until the plan's end; returns what
/// it did. The cluster is healed when it returns.
pub fn run(
    cluster: &mut ChaosCluster,
    plan: &NemesisPlan,
    clock: RunClock,
    struck: &AtomicUsize,
) -> FaultLog {
    let mut rng = StdRng::seed_from_u64(plan.seed ^ 0x006e_656d_6573_6973);
    let mut log = FaultLog::default();
    let end = Instant::now() + plan.duration;
    while Instant::now() < end && log.events.len() < plan.max_faults {
        // On hosts, a share of the faults are the hosts' own; a run on
        // loopback draws exactly as it always has.
        let kind = if cluster.hosts().is_some() && rng.gen_range(0..100) < HOST_FAULT_PERCENT {
            host_faults::draw_kind(&mut rng)
        } else {
            draw_kind(&mut rng)
        };
        let held = Duration::from_millis(match kind {
            FaultKind::CutProductLeaderHost | FaultKind::SplitHosts => rng.gen_range(3_000..15_000),
            FaultKind::CutCustomerMemberHost => rng.gen_range(5_000..30_000),
            FaultKind::HostPacketLoss => rng.gen_range(1500..4000),
            FaultKind::ProductUdpLoss | FaultKind::CustomerUdpLoss => rng.gen_range(1500..4000),
            FaultKind::KillCustomerMember | FaultKind::PauseCustomerMember => {
                rng.gen_range(200..1500)
            }
            FaultKind::KillTwoCustomerMembers | FaultKind::PartitionCustomerMember => {
                rng.gen_range(5_000..30_000)
            }
            // Longer than the 300 ms suspicion; often longer than a
            // frontend's 4 s attempt at one member and the clients' 3 s
            // attempt at a frontend, so a frontend thread outlives its
            // client and resends a purchase step late (docs/CHAOS.md).
            FaultKind::PauseCustomerMemberAcrossViewChange => rng.gen_range(1_000..6_000),
            FaultKind::WipeCustomerMember => rng.gen_range(1_000..10_000),
            _ => rng.gen_range(300..2500),
        });
        let at = clock.now();
        match strike(cluster, kind, held, &mut rng) {
            Ok(detail) => {
                // One line per fault on stderr, with the run's clock, so an
                // anomaly's time can be matched with what struck then.
                eprintln!(
                    "chaos: {:.1} s: {kind} ({detail}), held {:.1} s",
                    at as f64 / 1e6,
                    held.as_secs_f64()
                );
                log.events.push(FaultEvent {
                    kind,
                    at,
                    held,
                    detail,
                });
                struck.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => log.failures.push(format!("{kind}: {why}")),
        }
        let gap = Duration::from_millis(rng.gen_range(300..1500));
        std::thread::sleep(gap.min(end.saturating_duration_since(Instant::now())));
    }
    heal(cluster, &mut log);
    log
}

fn draw_kind(rng: &mut StdRng) -> FaultKind {
    match rng.gen_range(0..100) {
        0..14 => FaultKind::KillFrontend,
        14..26 => FaultKind::KillProductFollower,
        26..38 => FaultKind::KillProductLeader,
        38..48 => FaultKind::PauseProductLeader,
        48..58 => FaultKind::KillCustomerMember,
        58..66 => FaultKind::PauseCustomerMember,
        66..72 => FaultKind::KillTwoCustomerMembers,
        72..78 => FaultKind::PartitionCustomerMember,
        78..84 => FaultKind::PauseCustomerMemberAcrossViewChange,
        84..89 => FaultKind::ProductUdpLoss,
        89..94 => FaultKind::WipeCustomerMember,
        _ => FaultKind::CustomerUdpLoss,
    }
}

/// Carries out one fault, holds it, and heals it.
fn strike(
    cluster: &mut ChaosCluster,
    kind: FaultKind,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    match kind {
        FaultKind::KillFrontend => kill_frontend(cluster, held, rng),
        FaultKind::KillProductFollower => kill_product_follower(cluster, held, rng),
        FaultKind::KillProductLeader => crash_for(product_leader(cluster)?, cluster, held),
        FaultKind::PauseProductLeader => pause_for(product_leader(cluster)?, cluster, held),
        FaultKind::KillCustomerMember => {
            let member = any_customer_member(cluster, rng);
            crash_for(member, cluster, held)
        }
        FaultKind::PauseCustomerMember | FaultKind::PauseCustomerMemberAcrossViewChange => {
            let member = any_customer_member(cluster, rng);
            pause_for(member, cluster, held)
        }
        FaultKind::KillTwoCustomerMembers => kill_two_customer_members(cluster, held, rng),
        FaultKind::WipeCustomerMember => wipe_customer_member(cluster, held, rng),
        FaultKind::PartitionCustomerMember => partition_customer_member(cluster, held, rng),
        FaultKind::ProductUdpLoss => lose_udp(cluster, DatabaseKind::Product, held, rng),
        FaultKind::CustomerUdpLoss => lose_udp(cluster, DatabaseKind::Customer, held, rng),
        FaultKind::CutProductLeaderHost
        | FaultKind::CutCustomerMemberHost
        | FaultKind::SplitHosts
        | FaultKind::HostPacketLoss => host_faults::strike(cluster, kind, held, rng),
    }
}

/// Crashes a seller or buyer server, drawn at random, and restarts it
/// after `held`.
fn kill_frontend(
    cluster: &mut ChaosCluster,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let component = if rng.gen_bool(0.5) {
        Component::SellerServer
    } else {
        Component::BuyerServer
    };
    let index = rng.gen_range(0..cluster.config().count(component));
    crash_for((component, index), cluster, held)
}

/// Crashes a product-DB follower (any replica but the one that reports
/// itself leader), drawn at random, and restarts it after `held`.
fn kill_product_follower(
    cluster: &mut ChaosCluster,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let product_count = cluster.config().count(Component::ProductDb);
    let leader = cluster.product_leader();
    let followers: Vec<usize> = (0..product_count).filter(|&i| Some(i) != leader).collect();
    if followers.is_empty() {
        return Err("no follower".into());
    }
    let index = followers[rng.gen_range(0..followers.len())];
    crash_for((Component::ProductDb, index), cluster, held)
}

/// The product-DB replica that reports itself leader; an error if none
/// does.
fn product_leader(cluster: &ChaosCluster) -> Result<Member, String> {
    let leader = cluster
        .product_leader()
        .ok_or("no leader reported itself")?;
    Ok((Component::ProductDb, leader))
}

/// A customer-DB member, drawn at random.
fn any_customer_member(cluster: &ChaosCluster, rng: &mut StdRng) -> Member {
    let customer_count = cluster.config().count(Component::CustomerDb);
    (Component::CustomerDb, rng.gen_range(0..customer_count))
}

/// Crashes two customer-DB members, drawn at random, keeps them down for
/// `held` while the rest go on without them, and restarts both. Needs at
/// least five members.
fn kill_two_customer_members(
    cluster: &mut ChaosCluster,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let customer_count = cluster.config().count(Component::CustomerDb);
    if customer_count < 5 {
        return Err("fewer than five customer-DB members".into());
    }
    let first = rng.gen_range(0..customer_count);
    let second = (first + rng.gen_range(1..customer_count)) % customer_count;
    let members = [
        (Component::CustomerDb, first),
        (Component::CustomerDb, second),
    ];
    members.iter().for_each(|member| cluster.kill(*member));
    std::thread::sleep(held);
    for member in members {
        cluster
            .restart(member)
            .map_err(|e| format!("restart failed: {e}"))?;
    }
    Ok(format!("customer-db {first} and {second}"))
}

/// Crashes a customer-DB member drawn at random, deletes its data folder
/// (a replaced disk), and restarts it after `held`, to recover from the
/// group.
fn wipe_customer_member(
    cluster: &mut ChaosCluster,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let member = any_customer_member(cluster, rng);
    let index = member.1;
    cluster.kill(member);
    let folder = cluster
        .config()
        .replica_data_dir(Component::CustomerDb, index);
    std::fs::remove_dir_all(&folder)
        .map_err(|e| format!("cannot delete {}: {e}", folder.display()))?;
    std::thread::sleep(held);
    cluster
        .restart(member)
        .map_err(|e| format!("restart failed: {e}"))?;
    Ok(format!("customer-db {index}, {} deleted", folder.display()))
}

/// Cuts a customer-DB member, drawn at random, off from the others' UDP
/// both ways for `held` while it runs, then joins it back.
fn partition_customer_member(
    cluster: &mut ChaosCluster,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let (_, index) = any_customer_member(cluster, rng);
    let struck = cluster.cut_off(DatabaseKind::Customer, Some(index));
    std::thread::sleep(held);
    cluster.cut_off(DatabaseKind::Customer, None);
    Ok(format!("customer-db {index} ({struck} replicas told)"))
}

/// Makes `database`'s replicas lose a random share (5-30%) of their
/// datagrams for `held`, then clears the loss.
fn lose_udp(
    cluster: &mut ChaosCluster,
    database: DatabaseKind,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let share = rng.gen_range(5..=30) as f64 / 100.0;
    let seed = rng.gen();
    let struck = cluster.set_udp_loss(database, share, seed);
    std::thread::sleep(held);
    // Healing must reach every replica, or the loss outlives the
    // fault; a replica that misses it is retried in `heal`.
    cluster.set_udp_loss(database, 0.0, 0);
    Ok(format!("{:.0}% on {struck} replicas", share * 100.0))
}

fn crash_for(member: Member, cluster: &mut ChaosCluster, held: Duration) -> Result<String, String> {
    cluster.kill(member);
    std::thread::sleep(held);
    cluster
        .restart(member)
        .map_err(|e| format!("restart failed: {e}"))?;
    Ok(format!("{} {}", member.0, member.1))
}

fn pause_for(member: Member, cluster: &mut ChaosCluster, held: Duration) -> Result<String, String> {
    cluster.pause(member);
    std::thread::sleep(held);
    cluster.resume(member);
    Ok(format!("{} {}", member.0, member.1))
}

/// Undoes everything: resumes paused processes, restarts dead ones and
/// clears UDP loss on every replica.
pub fn heal(cluster: &mut ChaosCluster, log: &mut FaultLog) {
    cluster.resume_all();
    if let Err(e) = cluster.start_all() {
        log.failures.push(format!("healing: {e}"));
    }
    for database in [DatabaseKind::Product, DatabaseKind::Customer] {
        cluster.set_udp_loss(database, 0.0, 0);
    }
    cluster.cut_off(DatabaseKind::Customer, None);
    if let Some(hosts) = cluster.hosts() {
        if let Err(why) = hosts.heal().and_then(|()| hosts.loss(0)) {
            log.failures.push(format!("healing the hosts: {why}"));
        }
    }
}
