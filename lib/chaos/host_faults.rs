//! The nemesis's faults on hosts (`chaos --hosts`): real partitions, made
//! with scripts/hosts.sh's firewall rules inside the hosts' namespaces
//! (every protocol, both ways: gRPC, HTTP and the replicas' UDP alike), and
//! random loss on the wire. A cut-off group sometimes takes the client host
//! with it, so that the clients talk only to frontends that reach only the
//! minority: a minority that answered a write or a stale read would show in
//! the history. While a cut is held, the nemesis also watches what the side
//! it can reach must do (a new product-DB leader on the majority side, or
//! the cut-off leader stepping down; a customer-DB view without the cut-off
//! member, or that member leaving its view), and reports a cut whose side
//! did not do it within the hold as a fault not carried out (an anomaly).

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::config::Component;

use super::cluster::ChaosCluster;
use super::hosts::{self, CLIENT_HOST};
use super::nemesis::FaultKind;

/// How likely a cut-off host takes the client host with it.
const CLIENT_JOINS_CUT_HOST: f64 = 0.3;
/// How likely the client host is on the minority side of a split.
const CLIENT_JOINS_MINORITY: f64 = 0.5;
/// Hosts on the minority side of a split.
const MINORITY_HOSTS: usize = 2;
/// How often a side is polled while a cut is held.
const POLL_EVERY: Duration = Duration::from_millis(50);

/// Draws one of the hosts' faults.
pub fn draw_kind(rng: &mut StdRng) -> FaultKind {
    match rng.gen_range(0..100) {
        0..30 => FaultKind::CutProductLeaderHost,
        30..60 => FaultKind::CutCustomerMemberHost,
        60..80 => FaultKind::SplitHosts,
        _ => FaultKind::HostPacketLoss,
    }
}

/// Carries out one of the hosts' faults, holds it, and heals it.
pub fn strike(
    cluster: &mut ChaosCluster,
    kind: FaultKind,
    held: Duration,
    rng: &mut StdRng,
) -> Result<String, String> {
    let control = cluster
        .hosts()
        .ok_or("the cluster is not on hosts")?
        .clone();
    if kind == FaultKind::HostPacketLoss {
        let percent = rng.gen_range(5..=30);
        control.loss(percent)?;
        std::thread::sleep(held);
        control.loss(0)?;
        return Ok(format!("{percent}% of what every host receives"));
    }
    let (minority, watch) = choose_cut(cluster, kind, rng)?;
    let client_joins = rng.gen_bool(if kind == FaultKind::SplitHosts {
        CLIENT_JOINS_MINORITY
    } else {
        CLIENT_JOINS_CUT_HOST
    });
    let mut group = minority.clone();
    if client_joins {
        group.push(CLIENT_HOST);
    }
    if let Err(why) = control.partition(&group) {
        // A partition made half-way must not outlive its fault.
        let _ = control.heal();
        return Err(why);
    }
    let cut_at = Instant::now();
    let seen = watch.observe(cluster, &minority, client_joins, held);
    std::thread::sleep(held.saturating_sub(cut_at.elapsed()));
    control.heal()?;
    let side = if client_joins {
        "the clients with them"
    } else {
        "the clients with the rest"
    };
    Ok(format!("{} cut off, {side}; {}", minority.join(","), seen?))
}

/// Which hosts a cut takes off (the minority) and what the nemesis watches
/// while it is held: the product-DB leader's host, a customer-DB member's
/// host, or `MINORITY_HOSTS` random server hosts (the leader watched only
/// if it is among them).
fn choose_cut(
    cluster: &ChaosCluster,
    kind: FaultKind,
    rng: &mut StdRng,
) -> Result<(Vec<&'static str>, Watch), String> {
    let cut = match kind {
        FaultKind::CutProductLeaderHost => {
            let (leader, term) = cluster
                .product_leader_and_term()
                .ok_or("no leader reported itself")?;
            let host = cluster
                .host_of((Component::ProductDb, leader))
                .ok_or("the leader is on no host")?;
            (vec![host], Watch::ProductLeader { leader, term })
        }
        FaultKind::CutCustomerMemberHost => {
            let count = cluster.config().count(Component::CustomerDb);
            let member = rng.gen_range(0..count);
            let host = cluster
                .host_of((Component::CustomerDb, member))
                .ok_or("the member is on no host")?;
            (vec![host], Watch::CustomerMember { member })
        }
        _ => {
            let mut servers = hosts::server_hosts();
            servers.shuffle(rng);
            servers.truncate(MINORITY_HOSTS);
            servers.sort_unstable();
            // The leader is watched only if it is on the minority side.
            let watch = match cluster.product_leader_and_term() {
                Some((leader, term))
                    if cluster
                        .host_of((Component::ProductDb, leader))
                        .is_some_and(|h| servers.contains(&h)) =>
                {
                    Watch::ProductLeader { leader, term }
                }
                _ => Watch::Nothing,
            };
            (servers, watch)
        }
    };
    Ok(cut)
}

/// What the side the nemesis can reach must do while a cut is held.
enum Watch {
    /// Product-DB replica `leader` led in `term` on the cut-off side.
    ProductLeader {
        leader: usize,
        term: u64,
    },
    /// Customer-DB member `member` is on the cut-off side.
    CustomerMember {
        member: usize,
    },
    Nothing,
}

impl Watch {
    /// Polls until the reachable side did what it must (its description)
    /// or the hold is over (why not). `with_minority`: the nemesis, in the
    /// client host, is on the cut-off side.
    fn observe(
        &self,
        cluster: &ChaosCluster,
        minority: &[&str],
        with_minority: bool,
        held: Duration,
    ) -> Result<String, String> {
        let on_majority = |component| on_majority_side(cluster, component, minority);
        match *self {
            Watch::Nothing => Ok("nothing watched".into()),
            Watch::ProductLeader { leader, .. } if with_minority => poll(held, || {
                cluster
                    .product_role(leader)
                    .filter(|(role, _)| role != "leader")
                    .map(|(role, _)| format!("the cut-off leader {leader} is {role}"))
            })
            .ok_or_else(|| {
                format!(
                    "product-db {leader}, cut off without a majority, \
                         still leads after {held:?}"
                )
            }),
            Watch::ProductLeader { leader, term } => {
                let majority = on_majority(Component::ProductDb);
                poll(held, || {
                    majority.iter().find_map(|&i| {
                        cluster
                            .product_role(i)
                            .filter(|(role, t)| role == "leader" && *t > term)
                            .map(|(_, t)| format!("new leader {i} in term {t} (was {leader})"))
                    })
                })
                .ok_or_else(|| {
                    format!("no new product-DB leader on the majority side within {held:?}")
                })
            }
            Watch::CustomerMember { member } if with_minority => poll(held, || {
                cluster
                    .customer_view(member)
                    .filter(|(working, _)| !working)
                    .map(|_| format!("the cut-off member {member} left its view"))
            })
            .ok_or_else(|| {
                format!(
                    "customer-db {member}, cut off without a majority, \
                     still works in its view after {held:?}"
                )
            }),
            Watch::CustomerMember { member } => {
                let majority = on_majority(Component::CustomerDb);
                poll(held, || {
                    majority.iter().find_map(|&i| {
                        cluster
                            .customer_view(i)
                            .filter(|(working, members)| *working && !members.contains(&member))
                            .map(|(_, members)| format!("member {i} in a view of {members:?}"))
                    })
                })
                .ok_or_else(|| {
                    format!(
                        "the other customer-DB members formed no view without {member} \
                         within {held:?}"
                    )
                })
            }
        }
    }
}

/// Calls `seen` until it says something or `held` has passed since the
/// call; what it said, with how long it took.
fn poll(held: Duration, mut seen: impl FnMut() -> Option<String>) -> Option<String> {
    let started = Instant::now();
    while started.elapsed() < held {
        if let Some(what) = seen() {
            return Some(format!("{what} after {} ms", started.elapsed().as_millis()));
        }
        std::thread::sleep(POLL_EVERY);
    }
    None
}

/// The replicas of `component` on hosts outside `minority`.
fn on_majority_side(cluster: &ChaosCluster, component: Component, minority: &[&str]) -> Vec<usize> {
    (0..cluster.config().count(component))
        .filter(|&i| {
            cluster
                .host_of((component, i))
                .is_some_and(|h| !minority.contains(&h))
        })
        .collect()
}
