//! Reading the cluster back after the full restart: every item, every
//! buyer's cart and history, every seller's count of units sold. The reads
//! are recorded like any other call, so they join the linearizability
//! check as the last word on each object.

use std::sync::Arc;

use crate::config::Component;

use super::check::FinalState;
use super::workload::{Account, BuyerClient, Client, SellerClient, Shared};
use super::ChaosError;

/// Client numbers of the read-back sessions, apart from the run's clients.
const FIRST_READER: usize = 9000;

/// Reads everything back.
pub fn read_back(
    cluster: &super::ChaosCluster,
    shared: &Arc<Shared>,
    sellers: &[Account],
    buyers: &[Account],
) -> Result<FinalState, ChaosError> {
    let mut end = FinalState::default();
    let buyer_frontends = cluster.frontends(Component::BuyerServer);
    let seller_frontends = cluster.frontends(Component::SellerServer);
    let unreadable = |what: String| ChaosError::Cluster(format!("after the restart, {what}"));

    for (index, buyer) in buyers.iter().enumerate() {
        let client = Client::login(
            FIRST_READER + index,
            shared.clone(),
            buyer_frontends.clone(),
            "buyer",
            buyer,
        )?;
        let mut reader = BuyerClient {
            client,
            buyer: buyer.id,
            writer: false,
        };
        if index == 0 {
            let items: Vec<String> = shared
                .catalogue
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .map(|item| item.id.clone())
                .collect();
            for id in items {
                let facts = reader
                    .read_item(&id)
                    .ok_or_else(|| unreadable(format!("item {id} could not be read")))?;
                end.units_left.insert(id, facts.quantity);
            }
        }
        reader.show_cart();
        let history = reader.read_history().ok_or_else(|| {
            unreadable(format!("buyer {}'s history could not be read", buyer.name))
        })?;
        end.histories.insert(buyer.id, history);
    }
    for (index, seller) in sellers.iter().enumerate() {
        let client = Client::login(
            FIRST_READER + buyers.len() + index,
            shared.clone(),
            seller_frontends.clone(),
            "seller",
            seller,
        )?;
        let mut reader = SellerClient {
            client,
            seller: index,
        };
        let sold = reader.items_sold().ok_or_else(|| {
            unreadable(format!("seller {}'s rating could not be read", seller.name))
        })?;
        end.items_sold.insert(seller.id, sold);
    }
    Ok(end)
}
