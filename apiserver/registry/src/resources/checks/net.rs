//! IP addresses and CIDRs as upstream reads them (`netutils.ParseIPSloppy` and
//! `ParseCIDRSloppy`: IPv4 octets may carry leading zeros, an IPv4-mapped IPv6 address is an
//! IPv4 one) and upstream's rules for them (`util/validation/ip.go`, `ValidateNonSpecialIP`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use apiserver_machinery::field::{FieldError, FieldErrors, Path};

/// `IsValidIP`'s message.
pub const INVALID_IP: &str = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
/// `IsValidCIDR`'s message.
pub const INVALID_CIDR: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/// An IP address, or `None` when `text` is none.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    if text.contains(':') { text.parse::<Ipv6Addr>().ok().map(IpAddr::V6) } else { parse_ipv4(text).map(IpAddr::V4) }
}

/// Dotted decimal with up to three digits an octet (leading zeros allowed, as Go's sloppy
/// parser does).
fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(octets))
}

/// The IPv4 address an address is, if it is one (Go's `To4`).
pub fn as_ipv4(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// A CIDR: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address as written (host bits may be set).
    pub address: IpAddr,
    /// The prefix length.
    pub bits: u32,
}

impl Cidr {
    /// Whether `ip` is in this CIDR's network (same family, same prefix).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let masked = |bits_of: u128, width: u32| {
            if self.bits == 0 { 0 } else { bits_of >> (width - self.bits) }
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32) == masked(u128::from(u32::from(ip)), 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => masked(u128::from(net), 128) == masked(u128::from(ip), 128),
            _ => false,
        }
    }

    /// Whether this is an IPv6 CIDR.
    pub fn is_ipv6(&self) -> bool {
        self.address.is_ipv6()
    }
}

/// A CIDR, or `None` when `text` is none.
pub fn parse_cidr(text: &str) -> Option<Cidr> {
    let (address, bits) = text.split_once('/')?;
    let address = parse_ip(address)?;
    if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let bits: u32 = bits.parse().ok()?;
    let width = if address.is_ipv4() { 32 } else { 128 };
    (bits <= width).then_some(Cidr { address, bits })
}

/// `IsValidIP`.
pub fn ip(errors: &mut FieldErrors, path: &Path, value: &str) {
    if parse_ip(value).is_none() {
        errors.push(FieldError::invalid(path, value, INVALID_IP));
    }
}

/// `IsValidCIDR`.
pub fn cidr(errors: &mut FieldErrors, path: &Path, value: &str) {
    if parse_cidr(value).is_none() {
        errors.push(FieldError::invalid(path, value, INVALID_CIDR));
    }
}

/// `ValidateNonSpecialIP`: an address endpoints may use (not unspecified, loopback or
/// link-local).
pub fn non_special_ip(errors: &mut FieldErrors, path: &Path, value: &str) {
    let Some(ip) = parse_ip(value) else {
        errors.push(FieldError::invalid(path, value, "must be a valid IP address"));
        return;
    };
    let v4 = as_ipv4(ip);
    let v6 = match ip {
        IpAddr::V6(v6) if v4.is_none() => Some(v6),
        _ => None,
    };
    if ip.is_unspecified() || v4.is_some_and(|v4| v4.is_unspecified()) {
        errors.push(FieldError::invalid(path, value, format!("may not be unspecified ({value})")));
    }
    if v4.is_some_and(|v4| v4.is_loopback()) || v6.is_some_and(|v6| v6.is_loopback()) {
        errors.push(FieldError::invalid(path, value, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    if v4.is_some_and(|v4| v4.is_link_local()) || v6.is_some_and(|v6| v6.segments()[0] & 0xffc0 == 0xfe80) {
        errors.push(FieldError::invalid(path, value, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    let link_local_multicast = v4.is_some_and(|v4| v4.octets()[..3] == [224, 0, 0])
        || v6.is_some_and(|v6| v6.octets()[0] == 0xff && v6.octets()[1] & 0x0f == 0x02);
    if link_local_multicast {
        errors.push(FieldError::invalid(
            path,
            value,
            "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_addresses() {
        assert_eq!(parse_ip("010.001.2.3"), Some(IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))));
        assert!(parse_ip("2001:db8::1").is_some());
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", "a.b.c.d", "fe80::1%eth0"] {
            assert_eq!(parse_ip(bad), None, "{bad}");
        }
        assert_eq!(as_ipv4("::ffff:1.2.3.4".parse().unwrap()), Some(Ipv4Addr::new(1, 2, 3, 4)));
    }

    #[test]
    fn cidrs_and_containment() {
        let net = parse_cidr("10.0.0.0/16").unwrap();
        assert!(net.contains("10.0.200.1".parse().unwrap()));
        assert!(!net.contains("10.1.0.0".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        assert!(parse_cidr("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
        assert!(parse_cidr("2001:db8::/64").unwrap().is_ipv6());
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/", "x/8", "::/129", "10.0.0.0/-1"] {
            assert_eq!(parse_cidr(bad), None, "{bad}");
        }
    }

    #[test]
    fn special_addresses() {
        let problems = |ip: &str| {
            let mut errors = FieldErrors::default();
            non_special_ip(&mut errors, &Path::new("ip"), ip);
            errors.iter().map(|e| e.detail.clone()).collect::<Vec<_>>()
        };
        assert!(problems("10.1.2.3").is_empty());
        assert!(problems("2001:db8::1").is_empty());
        assert_eq!(problems("0.0.0.0"), ["may not be unspecified (0.0.0.0)"]);
        assert_eq!(problems("127.0.0.1"), ["may not be in the loopback range (127.0.0.0/8, ::1/128)"]);
        assert_eq!(problems("::1").len(), 1);
        assert_eq!(problems("169.254.169.254").len(), 1);
        assert_eq!(problems("fe80::1").len(), 1);
        assert_eq!(problems("224.0.0.5").len(), 1);
        assert_eq!(problems("ff02::1").len(), 1);
        assert_eq!(problems("nope"), ["must be a valid IP address"]);
    }
}
