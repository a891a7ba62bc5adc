//! Simulated addressing: each node gets an InternalIP and a /24 pod CIDR derived from its index,
//! and hands out pod IPs from that CIDR. Nothing is routed; the addresses only have to be unique
//! and stable across agent restarts (same index, same addresses).

use std::net::Ipv4Addr;

/// Pod CIDRs come from 10.128.0.0/9: 32,768 /24s, enough for any number of nodes we simulate.
const POD_RANGE_BASE: u32 = u32::from_be_bytes([10, 128, 0, 0]);
const POD_RANGE_SUBNETS: usize = 1 << 15;
/// Node InternalIPs come from 10.64.0.0/10 (disjoint from the pod range and the service range).
const NODE_RANGE_BASE: u32 = u32::from_be_bytes([10, 64, 0, 0]);
const NODE_RANGE_SIZE: usize = 1 << 22;

/// Why an index cannot be given addresses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("node index {index} is beyond the simulated address ranges ({POD_RANGE_SUBNETS} nodes)")]
pub struct OutOfAddresses {
    pub index: usize,
}

/// A node's /24 pod network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PodCidr {
    network: Ipv4Addr,
}

impl PodCidr {
    /// The `index`-th /24 of the pod range.
    pub fn for_node(index: usize) -> Result<Self, OutOfAddresses> {
        if index >= POD_RANGE_SUBNETS {
            return Err(OutOfAddresses { index });
        }
        let offset = u32::try_from(index).map_err(|_| OutOfAddresses { index })? << 8;
        Ok(Self { network: Ipv4Addr::from(POD_RANGE_BASE + offset) })
    }

    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) >> 8 == u32::from(self.network) >> 8
    }

    /// The address with host part `host` (1..=254).
    fn host(&self, host: u8) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network) | u32::from(host))
    }
}

impl std::fmt::Display for PodCidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/24", self.network)
    }
}

/// The InternalIP of the `index`-th node.
pub fn node_ip(index: usize) -> Result<Ipv4Addr, OutOfAddresses> {
    if index + 1 >= NODE_RANGE_SIZE {
        return Err(OutOfAddresses { index });
    }
    let offset = u32::try_from(index + 1).map_err(|_| OutOfAddresses { index })?;
    Ok(Ipv4Addr::from(NODE_RANGE_BASE + offset))
}

/// Pod IPs of one node: .1 is the (notional) gateway, .2–.254 go to pods. Allocation walks
/// round-robin from the last address given out, as host-local IPAM does, so a freed address is
/// not reused at once (a stale endpoint would otherwise point at a new pod).
#[derive(Debug, Clone)]
pub struct PodIpPool {
    cidr: PodCidr,
    used: [bool; 256],
    cursor: u8,
}

const FIRST_HOST: u8 = 2;
const LAST_HOST: u8 = 254;

impl PodIpPool {
    pub fn new(cidr: PodCidr) -> Self {
        Self { cidr, used: [false; 256], cursor: LAST_HOST }
    }

    pub fn cidr(&self) -> PodCidr {
        self.cidr
    }

    /// The next free address, or `None` when all 253 are taken.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let mut host = self.cursor;
        for _ in FIRST_HOST..=LAST_HOST {
            host = if host >= LAST_HOST { FIRST_HOST } else { host + 1 };
            if !self.used[usize::from(host)] {
                self.used[usize::from(host)] = true;
                self.cursor = host;
                return Some(self.cidr.host(host));
            }
        }
        None
    }

    /// Marks an address found on an existing pod (agent restart) as taken; `false` if it is not
    /// ours or already taken.
    pub fn reserve(&mut self, ip: Ipv4Addr) -> bool {
        let host = ip.octets()[3];
        if !self.cidr.contains(ip) || !(FIRST_HOST..=LAST_HOST).contains(&host) || self.used[usize::from(host)] {
            return false;
        }
        self.used[usize::from(host)] = true;
        true
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        if self.cidr.contains(ip) {
            self.used[usize::from(ip.octets()[3])] = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_are_distinct_per_node_and_cover_five_thousand_nodes() {
        assert_eq!(PodCidr::for_node(0).unwrap().to_string(), "10.128.0.0/24");
        assert_eq!(PodCidr::for_node(1).unwrap().to_string(), "10.128.1.0/24");
        assert_eq!(PodCidr::for_node(256).unwrap().to_string(), "10.129.0.0/24");
        assert_eq!(PodCidr::for_node(4999).unwrap().to_string(), "10.147.135.0/24");
        assert_eq!(PodCidr::for_node(32767).unwrap().to_string(), "10.255.255.0/24");
        assert_eq!(PodCidr::for_node(32768), Err(OutOfAddresses { index: 32768 }));
        let all: std::collections::HashSet<_> = (0..5000).map(|i| PodCidr::for_node(i).unwrap()).collect();
        assert_eq!(all.len(), 5000);
    }

    #[test]
    fn node_ips_are_distinct_and_outside_pod_range() {
        assert_eq!(node_ip(0).unwrap(), Ipv4Addr::new(10, 64, 0, 1));
        assert_eq!(node_ip(300).unwrap(), Ipv4Addr::new(10, 64, 1, 45));
        let pods = PodCidr::for_node(0).unwrap();
        assert!(!pods.contains(node_ip(0).unwrap()));
    }

    #[test]
    fn pool_hands_out_unique_addresses_inside_the_cidr_then_runs_out() {
        let cidr = PodCidr::for_node(3).unwrap();
        let mut pool = PodIpPool::new(cidr);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..253 {
            let ip = pool.allocate().unwrap();
            assert!(cidr.contains(ip), "{ip}");
            assert!(seen.insert(ip));
            assert!(ip.octets()[3] >= 2 && ip.octets()[3] <= 254);
        }
        assert_eq!(pool.allocate(), None);
        pool.release(Ipv4Addr::new(10, 128, 3, 77));
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 128, 3, 77)));
    }

    #[test]
    fn pool_does_not_reuse_a_freed_address_at_once() {
        let mut pool = PodIpPool::new(PodCidr::for_node(0).unwrap());
        let first = pool.allocate().unwrap();
        assert_eq!(first, Ipv4Addr::new(10, 128, 0, 2));
        pool.release(first);
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 128, 0, 3)));
    }

    #[test]
    fn reserve_keeps_addresses_of_existing_pods() {
        let mut pool = PodIpPool::new(PodCidr::for_node(0).unwrap());
        assert!(pool.reserve(Ipv4Addr::new(10, 128, 0, 2)));
        assert!(!pool.reserve(Ipv4Addr::new(10, 128, 0, 2)), "already taken");
        assert!(!pool.reserve(Ipv4Addr::new(10, 128, 1, 5)), "another node's");
        assert_eq!(pool.allocate(), Some(Ipv4Addr::new(10, 128, 0, 3)));
    }
}
