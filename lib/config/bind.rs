//! What to do when an address of the cluster file cannot be bound.
//!
//! The usual cause is a port that something else holds: another process,
//! or, for a port inside the kernel's ephemeral range, any outgoing
//! connection on the machine (the kernel may give it that port as its
//! source). The default cluster file keeps every port below the range
//! (see the test below); this turns the bare "Address already in use" into
//! a message that says how to find the holder and what to change.

use std::io;
use std::net::SocketAddr;

/// Where Linux keeps the ephemeral port range.
const EPHEMERAL_RANGE_FILE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// The kernel's ephemeral port range, if it can be read.
pub fn ephemeral_port_range() -> Option<(u16, u16)> {
    let text = std::fs::read_to_string(EPHEMERAL_RANGE_FILE).ok()?;
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(low)), Some(Ok(high))) => Some((low, high)),
        _ => None,
    }
}

/// `error` from binding `address` (a `what`, such as "gRPC"), explained.
pub fn bind_error(what: &str, address: SocketAddr, error: io::Error) -> io::Error {
    let mut message = format!("cannot bind the {what} address {address}: {error}");
    if error.kind() == io::ErrorKind::AddrInUse {
        let port = address.port();
        message.push_str(&format!(
            "; find what holds it with `ss -ltnup | grep :{port}`"
        ));
        if let Some((low, high)) = ephemeral_port_range() {
            if (low..=high).contains(&port) {
                message.push_str(&format!(
                    "; port {port} lies in the kernel's ephemeral range {low}-{high} \
                     ({EPHEMERAL_RANGE_FILE}), where any outgoing connection may take it: \
                     choose a port below {low} in the cluster file"
                ));
            }
        }
    }
    io::Error::new(error.kind(), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClusterConfig;

    #[test]
    fn the_default_cluster_keeps_every_port_below_the_ephemeral_range() {
        // Linux's default range starts at 32768; the machine's own if known.
        let low = ephemeral_port_range().map_or(32768, |(low, _)| low);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/conf/local.json");
        let config =
            ClusterConfig::load(std::path::Path::new(path)).expect("conf/local.json loads");
        let ports = config.all_addresses().into_iter().map(|a| a.port());
        for port in ports {
            assert!(
                port < low,
                "port {port} is in the ephemeral range from {low}"
            );
        }
    }

    #[test]
    fn an_address_in_use_says_how_to_find_the_holder() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let address = taken.local_addr().expect("its address");
        let error = std::net::TcpListener::bind(address).expect_err("in use");
        let explained = bind_error("HTTP", address, error).to_string();
        assert!(explained.contains("ss -ltnup"), "{explained}");
        assert!(explained.contains(&address.to_string()), "{explained}");
    }
}
