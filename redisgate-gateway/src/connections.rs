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
