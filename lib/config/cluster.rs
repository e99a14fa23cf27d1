use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use super::node_address::NodeAddress;
use crate::raft_driver::SNAPSHOT_EVERY_ENTRIES_DEFAULT;
use crate::sequencer_driver::SNAPSHOT_EVERY_DEFAULT;
use crate::transport::FaultSettings;

/// Where the binaries look when `--config` is not given.
pub const CLUSTER_FILE_DEFAULT: &str = "conf/local.json";

/// The whole cluster: every process, where it listens, and the settings
/// that must be the same everywhere (a replica's state machine depends on
/// `session_timeout_ms`, so all replicas read it from here).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Product-DB replicas: gRPC for frontends, UDP for Raft.
    pub product_db: Vec<ReplicaNode>,
    /// Customer-DB replicas: gRPC for frontends, UDP for the broadcast.
    pub customer_db: Vec<ReplicaNode>,
    /// Seller frontends (REST).
    pub seller_server: Vec<FrontendNode>,
    /// Buyer frontends (REST).
    pub buyer_server: Vec<FrontendNode>,
    /// Card-approval services (SOAP).
    pub financial_service: Vec<FrontendNode>,
    /// A session ends after this long without activity.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// The financial service's decision rule.
    #[serde(default)]
    pub financial: FinancialSettings,
    /// Replicas keep their data under `<data_dir>/<component>-<index>`;
    /// relative paths are taken from the working directory.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// Timing of the product DB's Raft.
    #[serde(default)]
    pub raft: RaftSettings,
    /// Timing of the customer DB's rotating sequencer.
    #[serde(default)]
    pub sequencer: SequencerSettings,
    /// Loss and cuts the replicas' UDP transports start with (tests and
    /// demonstrations; changeable at run time over gRPC).
    #[serde(default)]
    pub network_faults: FaultSettings,
}

/// Raft's timing: a tick every `tick_ms`; elections time out after a random
/// `election_ticks_min..election_ticks_max` ticks (150-300 ms by default, as
/// the paper suggests); the leader sends heartbeats every `heartbeat_ticks`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaftSettings {
    /// Milliseconds per tick.
    pub tick_ms: u64,
    /// Shortest election timeout, in ticks.
    pub election_ticks_min: u32,
    /// One past the longest election timeout, in ticks.
    pub election_ticks_max: u32,
    /// Heartbeat period, in ticks.
    pub heartbeat_ticks: u32,
    /// Whether a leader that holds a lease answers reads without a
    /// heartbeat round (docs/RAFT.md §7.1: it assumes the replicas' clocks
    /// run at nearly the same rate). Off: every read waits for a round.
    pub lease_reads: bool,
    /// Snapshot the state machine and compact the log after at most this
    /// many applied entries (sooner once the log since the last snapshot
    /// holds a share of its size: `driver_kit::SnapshotSchedule`).
    pub snapshot_every_entries: u64,
}

/// The sequencer's timing: a tick every `tick_ms` (watermarks and
/// heartbeats go out on ticks, so a request's latency follows the tick),
/// and a snapshot of the delivered state after at most `snapshot_every`
/// deliveries (sooner once the log holds a share of the state's size).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequencerSettings {
    /// Milliseconds per tick.
    pub tick_ms: u64,
    /// Snapshot after at most this many deliveries.
    pub snapshot_every: u64,
    /// A member's own Requests and Sequences leave before their fsync
    /// (docs/SEQUENCER.md 5.8 and 5.10; on by default). Every restart takes
    /// a new incarnation in a new view whatever this says.
    pub early_send: bool,
}

impl Default for SequencerSettings {
    fn default() -> Self {
        SequencerSettings {
            tick_ms: 2,
            snapshot_every: SNAPSHOT_EVERY_DEFAULT,
            early_send: true,
        }
    }
}

impl Default for RaftSettings {
    fn default() -> Self {
        RaftSettings {
            tick_ms: 15,
            election_ticks_min: 10,
            election_ticks_max: 20,
            heartbeat_ticks: 2,
            lease_reads: true,
            snapshot_every_entries: SNAPSHOT_EVERY_ENTRIES_DEFAULT,
        }
    }
}

/// A database replica's addresses (IP or DNS name, see node_address.rs).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplicaNode {
    /// Where frontends call it.
    pub grpc: NodeAddress,
    /// Where its peers reach it over UDP.
    pub peer: NodeAddress,
}

/// A frontend's (or the financial service's) HTTP address.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontendNode {
    /// Where clients call it.
    pub http: NodeAddress,
}

/// How the financial service decides.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinancialSettings {
    /// Share of valid cards approved, 0.0..=1.0.
    #[serde(default = "default_approve_probability")]
    pub approve_probability: f64,
    /// Seed of the decision: the same seed, request id and card give the
    /// same answer on every financial-service replica and every retry.
    #[serde(default)]
    pub seed: u64,
}

impl Default for FinancialSettings {
    fn default() -> Self {
        FinancialSettings {
            approve_probability: default_approve_probability(),
            seed: 0,
        }
    }
}

fn default_session_timeout_ms() -> u64 {
    5 * 60 * 1000
}

fn default_approve_probability() -> f64 {
    0.95
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("run/data")
}

/// The kinds of process in the cluster, named as their binaries are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// `product-db`
    ProductDb,
    /// `customer-db`
    CustomerDb,
    /// `seller-server`
    SellerServer,
    /// `buyer-server`
    BuyerServer,
    /// `financial-service`
    FinancialService,
}

impl Component {
    /// Every component, in the order cluster-status prints them.
    pub const ALL: [Component; 5] = [
        Component::ProductDb,
        Component::CustomerDb,
        Component::SellerServer,
        Component::BuyerServer,
        Component::FinancialService,
    ];

    /// The binary's name.
    pub fn name(self) -> &'static str {
        match self {
            Component::ProductDb => "product-db",
            Component::CustomerDb => "customer-db",
            Component::SellerServer => "seller-server",
            Component::BuyerServer => "buyer-server",
            Component::FinancialService => "financial-service",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Component {
    type Err = ConfigError;
    fn from_str(text: &str) -> Result<Self, ConfigError> {
        Component::ALL
            .into_iter()
            .find(|c| c.name() == text)
            .ok_or_else(|| ConfigError::Invalid(format!("unknown component {text:?}")))
    }
}

/// Why a cluster file was refused.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read(PathBuf, std::io::Error),
    /// The file is not valid JSON for a cluster.
    Parse(PathBuf, serde_json::Error),
    /// The file parses but breaks a rule; the text says which.
    Invalid(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read(path, e) => write!(f, "cannot read {}: {e}", path.display()),
            ConfigError::Parse(path, e) => {
                write!(f, "{} is not a valid cluster file: {e}", path.display())
            }
            ConfigError::Invalid(m) => write!(f, "invalid cluster file: {m}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ClusterConfig {
    /// Reads and validates a cluster file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?;
        Self::parse(path, &text)
    }

    /// Parses and validates a cluster file's text (`path` is for messages).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let config: ClusterConfig =
            serde_json::from_str(text).map_err(|e| ConfigError::Parse(path.to_path_buf(), e))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the rules a parsed file must follow.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        for component in Component::ALL {
            if self.count(component) == 0 {
                return invalid(format!("at least one {component} is needed"));
            }
        }
        if self.product_db.len() > 9 || self.customer_db.len() > 9 {
            return invalid("at most 9 replicas per database".into());
        }
        if self.session_timeout_ms == 0 {
            return invalid("session_timeout_ms must be positive".into());
        }
        let raft = &self.raft;
        if raft.tick_ms == 0 || raft.tick_ms > 1000 {
            return invalid(format!(
                "raft.tick_ms must be 1..=1000, got {}",
                raft.tick_ms
            ));
        }
        if raft.heartbeat_ticks == 0 || raft.heartbeat_ticks >= raft.election_ticks_min {
            return invalid(
                "raft.heartbeat_ticks must be at least 1 and below election_ticks_min".into(),
            );
        }
        if raft.election_ticks_max <= raft.election_ticks_min {
            return invalid("raft.election_ticks_max must be above election_ticks_min".into());
        }
        if raft.snapshot_every_entries == 0 {
            return invalid("raft.snapshot_every_entries must be positive".into());
        }
        if self.sequencer.tick_ms == 0 || self.sequencer.tick_ms > 1000 {
            return invalid(format!(
                "sequencer.tick_ms must be 1..=1000, got {}",
                self.sequencer.tick_ms
            ));
        }
        if self.sequencer.snapshot_every == 0 {
            return invalid("sequencer.snapshot_every must be positive".into());
        }
        if let Err(e) = self.network_faults.validate() {
            return invalid(format!("network_faults: {e}"));
        }
        let p = self.financial.approve_probability;
        if !(0.0..=1.0).contains(&p) {
            return invalid(format!(
                "financial.approve_probability must be in 0..=1, got {p}"
            ));
        }
        // Names are compared as text (`name:port`): two names for one host
        // cannot be told apart without a lookup, which loading must not need.
        let mut seen = HashSet::new();
        for address in self.all_addresses() {
            if !seen.insert(address.clone()) {
                return invalid(format!("address {address} is used twice"));
            }
        }
        Ok(())
    }

    /// How many processes of a component the file lists.
    pub fn count(&self, component: Component) -> usize {
        match component {
            Component::ProductDb => self.product_db.len(),
            Component::CustomerDb => self.customer_db.len(),
            Component::SellerServer => self.seller_server.len(),
            Component::BuyerServer => self.buyer_server.len(),
            Component::FinancialService => self.financial_service.len(),
        }
    }

    /// The address clients of a process use, as the file gives it: gRPC
    /// for replicas, HTTP for the rest. Hand it to gRPC or ureq as text, so
    /// that a name is looked up on every new connection.
    pub fn endpoint(&self, component: Component, index: usize) -> Option<&NodeAddress> {
        match component {
            Component::ProductDb => self.product_db.get(index).map(|n| &n.grpc),
            Component::CustomerDb => self.customer_db.get(index).map(|n| &n.grpc),
            Component::SellerServer => self.seller_server.get(index).map(|n| &n.http),
            Component::BuyerServer => self.buyer_server.get(index).map(|n| &n.http),
            Component::FinancialService => self.financial_service.get(index).map(|n| &n.http),
        }
    }

    /// [`ClusterConfig::endpoint`] as a socket address, looked up now for a
    /// name (`None` also when the lookup fails): for tools that connect
    /// at once (the chaos suite, the bench, on loopback files).
    pub fn service_address(&self, component: Component, index: usize) -> Option<SocketAddr> {
        self.endpoint(component, index)?.resolve_first().ok()
    }

    /// Checks that `index` names a process of `component`.
    pub fn check_index(&self, component: Component, index: usize) -> Result<(), ConfigError> {
        let count = self.count(component);
        if index < count {
            Ok(())
        } else {
            Err(ConfigError::Invalid(format!(
                "--index {index} is out of range: the file lists {count} {component} (0..={})",
                count - 1
            )))
        }
    }

    /// The data folder of one replica.
    pub fn replica_data_dir(&self, component: Component, index: usize) -> PathBuf {
        self.data_dir.join(format!("{component}-{index}"))
    }

    pub(crate) fn all_addresses(&self) -> Vec<NodeAddress> {
        let replicas = self.product_db.iter().chain(&self.customer_db);
        let frontends = self
            .seller_server
            .iter()
            .chain(&self.buyer_server)
            .chain(&self.financial_service);
        replicas
            .flat_map(|n| [n.grpc.clone(), n.peer.clone()])
            .chain(frontends.map(|n| n.http.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ClusterConfig, ConfigError> {
        ClusterConfig::parse(Path::new("test.json"), text)
    }

    const SMALL: &str = r#"{
        "product_db": [{"grpc": "127.0.0.1:1", "peer": "127.0.0.1:2"}],
        "customer_db": [{"grpc": "127.0.0.1:3", "peer": "127.0.0.1:4"}],
        "seller_server": [{"http": "127.0.0.1:5"}],
        "buyer_server": [{"http": "127.0.0.1:6"}],
        "financial_service": [{"http": "127.0.0.1:7"}]
    }"#;

    #[test]
    fn the_shipped_cluster_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(CLUSTER_FILE_DEFAULT);
        let config = ClusterConfig::load(&path).expect("conf/local.json loads");
        assert_eq!(config.count(Component::ProductDb), 5);
        assert_eq!(config.count(Component::CustomerDb), 5);
        assert_eq!(config.count(Component::SellerServer), 4);
        assert_eq!(config.count(Component::BuyerServer), 4);
        assert_eq!(config.count(Component::FinancialService), 1);
    }

    #[test]
    fn defaults_apply_when_settings_are_left_out() {
        let config = parse(SMALL).unwrap();
        assert_eq!(config.session_timeout_ms, 300_000);
        assert_eq!(config.financial.approve_probability, 0.95);
        assert_eq!(
            config.replica_data_dir(Component::ProductDb, 0),
            Path::new("run/data/product-db-0")
        );
    }

    #[test]
    fn broken_files_are_refused_with_a_reason() {
        let twice = SMALL.replace("127.0.0.1:7", "127.0.0.1:6");
        assert!(parse(&twice)
            .unwrap_err()
            .to_string()
            .contains("used twice"));
        let unknown_field = SMALL.replacen('{', r#"{"surprise": 1,"#, 1);
        assert!(matches!(parse(&unknown_field), Err(ConfigError::Parse(..))));
        let no_buyers = SMALL.replace(r#"[{"http": "127.0.0.1:6"}]"#, "[]");
        assert!(parse(&no_buyers)
            .unwrap_err()
            .to_string()
            .contains("buyer-server"));
        let bad_probability =
            SMALL.replacen('{', r#"{"financial": {"approve_probability": 2},"#, 1);
        assert!(parse(&bad_probability).is_err());
        assert!(matches!(parse("not json"), Err(ConfigError::Parse(..))));
        let config = parse(SMALL).unwrap();
        assert!(config.check_index(Component::ProductDb, 1).is_err());
        assert!(config.check_index(Component::ProductDb, 0).is_ok());
    }

    #[test]
    fn hosts_may_be_dns_names() {
        let named = SMALL
            .replace("127.0.0.1:2", "product-db-0.product-db:2")
            .replace("127.0.0.1:5", "seller-server:5");
        let config = parse(&named).expect("names are accepted");
        assert_eq!(
            config.product_db[0].peer.name(),
            Some("product-db-0.product-db")
        );
        assert_eq!(
            config
                .endpoint(Component::SellerServer, 0)
                .unwrap()
                .to_string(),
            "seller-server:5"
        );
        assert_eq!(
            config.service_address(Component::ProductDb, 0),
            Some("127.0.0.1:1".parse().unwrap())
        );
    }

    #[test]
    fn bad_names_are_refused_with_a_reason_and_duplicates_by_text() {
        let bad = SMALL.replace("127.0.0.1:5", "seller_server:5");
        let error = parse(&bad).unwrap_err();
        assert!(matches!(error, ConfigError::Parse(..)), "{error}");
        let message = error.to_string();
        assert!(message.contains("seller_server:5"), "{message}");
        assert!(message.contains("holds '_'"), "{message}");
        let no_port = SMALL.replace("127.0.0.1:5", "seller-server");
        assert!(parse(&no_port).unwrap_err().to_string().contains("no port"));
        let bad_port = SMALL.replace("127.0.0.1:5", "seller-server:99999");
        assert!(parse(&bad_port).unwrap_err().to_string().contains("99999"));
        let twice = SMALL
            .replace("127.0.0.1:5", "Frontend:5")
            .replace("127.0.0.1:6", "frontend:5");
        let message = parse(&twice).unwrap_err().to_string();
        assert!(message.contains("frontend:5 is used twice"), "{message}");
        // One name on two ports is two addresses.
        let two_ports = SMALL
            .replace("127.0.0.1:5", "frontend:5")
            .replace("127.0.0.1:6", "frontend:6");
        assert!(parse(&two_ports).is_ok());
    }

    #[test]
    fn the_kubernetes_cluster_file_parses() {
        let manifest =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/deploy/k8s/cluster-configmap.yaml");
        let yaml = std::fs::read_to_string(&manifest).expect("the ConfigMap");
        // The file is the block after `cluster.json: |`, indented.
        let (_, block) = yaml.split_once("cluster.json: |").expect("the file's key");
        let config = parse(block).expect("the ConfigMap's cluster file");
        assert_eq!(config.count(Component::ProductDb), 5);
        assert_eq!(
            config.customer_db[4].peer.to_string(),
            "customer-db-4.customer-db:15161"
        );
    }
}
