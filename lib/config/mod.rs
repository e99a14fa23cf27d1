//! The cluster file (conf/*.json) that every binary reads, and the few
//! command-line flags they share. Owns parsing and validation only.

mod args;
mod bind;
mod cluster;
mod node_address;

pub use args::{Args, ArgsError};
pub use bind::{bind_error, ephemeral_port_range};
pub use cluster::{
    ClusterConfig, Component, ConfigError, FinancialSettings, FrontendNode, RaftSettings,
    ReplicaNode, CLUSTER_FILE_DEFAULT,
};
pub use node_address::{AddressError, Host, NodeAddress};
