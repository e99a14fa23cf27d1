//! [`NodeAddress`]: one address of the cluster file, `host:port`, where the
//! host is an IP address (`10.0.0.5`, `[::1]`) or a DNS name
//! (`product-db-0.product-db`, `localhost`).
//!
//! Names exist for Kubernetes and other deployments where a process is
//! known by a stable name but not by a stable IP: a StatefulSet pod that
//! is rescheduled comes back under the same name with a new IP. So a name
//! is never turned into an IP once for good: every user resolves it when
//! it uses it (the UDP transport re-resolves its peers periodically, gRPC
//! and ureq resolve on every new connection), and a process binds all
//! interfaces for an entry of its own that is a name, since a pod cannot
//! reliably bind the IP its name resolves to (it may not even resolve yet
//! when the pod starts). An IP entry is bound exactly as given.
//!
//! Names are checked strictly (RFC 1123 host names: labels of letters,
//! digits and hyphens), so a typo is refused at load time with a reason
//! rather than found by a failed lookup later. Names are kept in lower case
//! (DNS does not tell cases apart), so `Seller:80` and `seller:80` are the
//! same entry for the duplicate rule.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// The longest DNS name, without a trailing dot (RFC 1035: 255 octets on
/// the wire, which is 253 characters of text).
pub const HOST_NAME_BYTES_MAX: usize = 253;

/// The longest label of a DNS name (RFC 1035).
pub const LABEL_BYTES_MAX: usize = 63;

/// What an address names: a fixed IP or a DNS name to look up at use.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A literal IP address.
    Ip(IpAddr),
    /// A host name, checked and in lower case.
    Name(String),
}

/// `host:port`, as written in the cluster file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeAddress {
    host: Host,
    port: u16,
}

/// Why a text is not a `host:port` address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddressError {
    /// No `:port` at the end.
    MissingPort(String),
    /// The port is not a number in 0..=65535.
    BadPort {
        /// The whole address.
        address: String,
        /// The text after the last colon.
        port: String,
    },
    /// An IPv6 address must be written in brackets, `[::1]:port`.
    UnbracketedIpv6(String),
    /// Text in brackets that is not an IPv6 address.
    BadIpv6(String),
    /// The host is neither an IP address nor a valid DNS name.
    BadHostName {
        /// The whole address.
        address: String,
        /// Which rule of host names it breaks.
        reason: String,
    },
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressError::MissingPort(address) => {
                write!(f, "address {address:?} has no port (write host:port)")
            }
            AddressError::BadPort { address, port } => write!(
                f,
                "address {address:?}: port {port:?} is not a number in 0..=65535"
            ),
            AddressError::UnbracketedIpv6(address) => write!(
                f,
                "address {address:?}: an IPv6 address goes in brackets, as [::1]:port"
            ),
            AddressError::BadIpv6(address) => {
                write!(
                    f,
                    "address {address:?}: not a valid IPv6 address in brackets"
                )
            }
            AddressError::BadHostName { address, reason } => write!(
                f,
                "address {address:?}: the host is neither an IP address \
                 nor a valid DNS name: {reason}"
            ),
        }
    }
}

impl std::error::Error for AddressError {}

impl NodeAddress {
    /// Parses `host:port`.
    pub fn parse(text: &str) -> Result<NodeAddress, AddressError> {
        if let Ok(socket) = text.parse::<SocketAddr>() {
            return Ok(NodeAddress::from(socket));
        }
        let Some((host, port)) = text.rsplit_once(':') else {
            return Err(AddressError::MissingPort(text.to_string()));
        };
        if host.starts_with('[') {
            return Err(AddressError::BadIpv6(text.to_string()));
        }
        if host.contains(':') {
            return Err(AddressError::UnbracketedIpv6(text.to_string()));
        }
        // Digits only, as SocketAddr's own parser: no sign, no spaces.
        let port = match port.parse::<u16>() {
            Ok(number) if port.bytes().all(|b| b.is_ascii_digit()) => number,
            _ => {
                return Err(AddressError::BadPort {
                    address: text.to_string(),
                    port: port.to_string(),
                })
            }
        };
        check_host_name(host).map_err(|reason| AddressError::BadHostName {
            address: text.to_string(),
            reason,
        })?;
        Ok(NodeAddress {
            host: Host::Name(host.to_ascii_lowercase()),
            port,
        })
    }

    /// The host.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host name, if the host is one.
    pub fn name(&self) -> Option<&str> {
        match &self.host {
            Host::Name(name) => Some(name),
            Host::Ip(_) => None,
        }
    }

    /// The socket address, if the host is an IP (no lookup needed).
    pub fn ip_address(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }

    /// What a process whose own entry this is binds: the IP as given, or
    /// every IPv4 interface at the port for a name (a pod cannot count on
    /// binding the address its name resolves to).
    pub fn bind_address(&self) -> SocketAddr {
        self.ip_address()
            .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), self.port))
    }

    /// Where a process listens for this entry, for its log line: the
    /// address, and for a name that it is every interface and why.
    pub fn describe_binding(&self) -> String {
        match self.host {
            Host::Ip(_) => self.to_string(),
            Host::Name(_) => format!(
                "{} (all interfaces: its entry {self} is a name)",
                self.bind_address()
            ),
        }
    }

    /// Every socket address the entry stands for now: itself for an IP, the
    /// answer of a DNS lookup (std's resolver, blocking) for a name.
    pub fn resolve(&self) -> io::Result<Vec<SocketAddr>> {
        match self.ip_address() {
            Some(address) => Ok(vec![address]),
            None => Ok((self.to_string().as_str()).to_socket_addrs()?.collect()),
        }
    }

    /// The first address of [`NodeAddress::resolve`]; an error if the
    /// name resolves to nothing.
    pub fn resolve_first(&self) -> io::Result<SocketAddr> {
        self.resolve()?.into_iter().next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("{self} resolves to no address"),
            )
        })
    }
}

impl From<SocketAddr> for NodeAddress {
    fn from(address: SocketAddr) -> NodeAddress {
        NodeAddress {
            host: Host::Ip(address.ip()),
            port: address.port(),
        }
    }
}

impl FromStr for NodeAddress {
    type Err = AddressError;
    fn from_str(text: &str) -> Result<Self, AddressError> {
        NodeAddress::parse(text)
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(ip) => SocketAddr::new(*ip, self.port).fmt(f),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

impl<'de> Deserialize<'de> for NodeAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        NodeAddress::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Checks `host` against RFC 1123's host names; the error says which rule
/// it breaks. One trailing dot (an absolute name) is allowed.
fn check_host_name(host: &str) -> Result<(), String> {
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > HOST_NAME_BYTES_MAX {
        return Err(format!(
            "it is {} characters long, at most {HOST_NAME_BYTES_MAX}",
            name.len()
        ));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading dot)".into());
        }
        if label.len() > LABEL_BYTES_MAX {
            return Err(format!(
                "label {label:?} is {} characters long, at most {LABEL_BYTES_MAX}",
                label.len()
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "label {label:?} holds {bad:?}: only letters, digits and '-' are allowed"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with '-'"));
        }
    }
    // "10.0.0.300" or "1.2.3": a mistyped IPv4 address, not a name (no
    // top-level domain is all digits).
    let last = name.rsplit('.').next().unwrap_or(name);
    if last.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{host:?} looks like an IPv4 address but is not a valid one"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeAddress, AddressError> {
        NodeAddress::parse(text)
    }

    #[test]
    fn ip_addresses_parse_as_before() {
        let v4 = parse("127.0.0.1:5000").unwrap();
        assert_eq!(v4.ip_address(), Some("127.0.0.1:5000".parse().unwrap()));
        assert_eq!(v4.bind_address(), "127.0.0.1:5000".parse().unwrap());
        assert_eq!(v4.name(), None);
        let v6 = parse("[::1]:6000").unwrap();
        assert_eq!(v6.to_string(), "[::1]:6000");
        assert_eq!(v6.bind_address(), "[::1]:6000".parse().unwrap());
        assert_eq!(v4.describe_binding(), "127.0.0.1:5000");
    }

    #[test]
    fn names_are_accepted_and_bind_every_interface() {
        for (text, name) in [
            ("localhost:7000", "localhost"),
            ("product-db-0.product-db:15151", "product-db-0.product-db"),
            (
                "customer-db-4.customer-db.market.svc.cluster.local.:15161",
                "customer-db-4.customer-db.market.svc.cluster.local.",
            ),
            ("Seller-Server:8001", "seller-server"),
            ("a1.b2:0", "a1.b2"),
            ("1password.example:80", "1password.example"),
        ] {
            let address = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(address.name(), Some(name), "{text}");
            assert_eq!(address.ip_address(), None);
            assert_eq!(address.bind_address().ip(), Ipv4Addr::UNSPECIFIED);
            assert_eq!(address.bind_address().port(), address.port());
        }
        let named = parse("seller-server:8001").unwrap();
        assert_eq!(named.to_string(), "seller-server:8001");
        assert!(named
            .describe_binding()
            .starts_with("0.0.0.0:8001 (all interfaces"));
        let longest_label = format!("{}.example:1", "a".repeat(63));
        assert!(parse(&longest_label).is_ok());
    }

    #[test]
    fn bad_names_and_ports_are_refused_with_the_reason() {
        let label_64 = format!("{}.example:1", "a".repeat(64));
        let name_255 = format!("{}:1", [&"a".repeat(63)[..]; 4].join("."));
        let cases: [(&str, &str); 17] = [
            ("localhost", "has no port"),
            ("localhost:", "is not a number"),
            ("localhost:65536", "is not a number"),
            ("localhost:+80", "is not a number"),
            ("localhost:http", "is not a number"),
            (":80", "empty"),
            ("bad_name:80", "holds '_'"),
            ("a..b:80", "empty label"),
            (".a:80", "empty label"),
            ("-a.b:80", "starts or ends with '-'"),
            ("a-.b:80", "starts or ends with '-'"),
            ("a b:80", "holds ' '"),
            ("héllo:80", "holds 'é'"),
            ("10.0.0.300:80", "looks like an IPv4 address"),
            ("1.2.3:80", "looks like an IPv4 address"),
            ("::1:80", "in brackets"),
            ("[::g]:80", "not a valid IPv6"),
        ];
        for (text, reason) in cases {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(error.contains(&format!("{text:?}")), "{text}: {error}");
        }
        let error = parse(&label_64).unwrap_err().to_string();
        assert!(error.contains("at most 63"), "{error}");
        let error = parse(&name_255).unwrap_err().to_string();
        assert!(error.contains("at most 253"), "{error}");
    }

    #[test]
    fn an_ip_resolves_to_itself_and_localhost_by_lookup() {
        let ip = parse("127.0.0.1:9").unwrap();
        assert_eq!(ip.resolve().unwrap(), vec![ip.ip_address().unwrap()]);
        // /etc/hosts names localhost on every machine this runs on.
        let named = parse("localhost:9").unwrap();
        let found = named.resolve().expect("localhost resolves");
        assert!(found.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        assert!(named.resolve_first().is_ok());
    }

    #[test]
    fn a_cluster_file_gets_the_reason_in_its_error() {
        let error = serde_json::from_str::<NodeAddress>(r#""bad_name:80""#).unwrap_err();
        assert!(error.to_string().contains("holds '_'"), "{error}");
        let fine: NodeAddress = serde_json::from_str(r#""db-1.db:80""#).unwrap();
        assert_eq!(fine.name(), Some("db-1.db"));
    }
}
