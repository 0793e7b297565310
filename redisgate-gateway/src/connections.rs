//! Counting client connections against the server's limits: in all, and by IP address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The client connections open in a process, in all and by address, against the server's limits
/// (`ServerLimits::max_connections`, `max_connections_per_address`).
#[derive(Debug, Default)]
pub struct Connections {
    open: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Too many connections in all.
    Full,
    /// Too many from this address.
    Address,
}

impl Connections {
    /// Takes a place for a connection from `address`, if fewer than `max` are open in all and fewer than
    /// `per_address` from it (0: no limit by address).
    pub(crate) fn admit(
        self: &Arc<Self>,
        address: IpAddr,
        max: usize,
        per_address: usize,
    ) -> Result<Admitted, Refusal> {
        if self.open.fetch_add(1, Ordering::Relaxed) >= max {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return Err(Refusal::Full);
        }
        let address = client_network(address);
        if per_address > 0 {
            let mut by_address = self.by_address.lock().unwrap_or_else(PoisonError::into_inner);
            let count = by_address.entry(address).or_default();
            if *count >= per_address {
                drop(by_address);
                self.open.fetch_sub(1, Ordering::Relaxed);
                return Err(Refusal::Address);
            }
            *count += 1;
        }
        Ok(Admitted { connections: Arc::clone(self), address: (per_address > 0).then_some(address) })
    }
}

/// A connection's place, freed when the connection is dropped.
pub(crate) struct Admitted {
    connections: Arc<Connections>,
    address: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.connections.open.fetch_sub(1, Ordering::Relaxed);
        if let Some(address) = self.address {
            let mut by_address = self.connections.by_address.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(count) = by_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    by_address.remove(&address);
                }
            }
        }
    }
}

/// What limits "per address" count by: an IPv4 address (an IPv4-mapped IPv6 one included), or the /64 network
/// of an IPv6 address, since one IPv6 client usually holds a whole /64 (2^64 addresses to rotate through).
#[must_use]
pub fn client_network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_network(a), client_network(b));
        assert_ne!(client_network(a), client_network(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_network(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        let connections = Arc::new(Connections::default());
        let first = connections.admit(a, 10, 1).unwrap();
        assert_eq!(connections.admit(b, 10, 1).err(), Some(Refusal::Address), "the same /64 is one client");
        drop(first);
        assert!(connections.admit(b, 10, 1).is_ok());
    }
}
