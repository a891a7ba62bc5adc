//! NodePorts: a host port (protocol, address, port) can be held by one pod per node.

use crate::node_info::NodeInfo;
use crate::pod_info::PodInfo;

pub fn free(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.host_ports.iter().all(|wanted| !node.used_ports.iter().any(|used| used.conflicts(wanted)))
}

#[cfg(test)]
mod tests {
    use crate::pod_info::HostPort;

    #[test]
    fn same_port_conflicts_unless_protocol_or_specific_addresses_differ() {
        let p = |protocol: &str, ip: &str| HostPort { protocol: protocol.into(), ip: ip.into(), port: 80 };
        assert!(p("TCP", "0.0.0.0").conflicts(&p("TCP", "10.0.0.1")));
        assert!(!p("TCP", "0.0.0.0").conflicts(&p("UDP", "0.0.0.0")));
        assert!(!p("TCP", "10.0.0.1").conflicts(&p("TCP", "10.0.0.2")));
        assert!(p("TCP", "10.0.0.1").conflicts(&p("TCP", "10.0.0.1")));
    }
}
