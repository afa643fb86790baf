//! A list of IP networks asked, for every connection, whether it holds an address.
//!
//! [`ipnet::IpNet::contains`] compares enums and builds masks on each call; a connection
//! asks it for both its ends, over each of the 24 networks of Zeek's private address
//! space. [`Networks`] keeps each network as an address and a mask of integers, so a
//! look-up is an AND and a compare per network of the address's family.

use std::net::IpAddr;

use ipnet::IpNet;

/// Networks, each with its mask computed once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Networks {
    /// IPv4 networks: the network address and its mask.
    v4: Vec<(u32, u32)>,
    /// IPv6 networks: the network address and its mask.
    v6: Vec<(u128, u128)>,
}

impl Networks {
    /// Whether one of the networks holds `ip` (an IPv4 address is not looked for in IPv6
    /// networks, nor the reverse, as with [`IpNet::contains`]).
    pub fn contains(&self, ip: &IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(*a);
                self.v4.iter().any(|&(net, mask)| a & mask == net)
            }
            IpAddr::V6(a) => {
                let a = u128::from(*a);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }
}

impl From<Vec<IpNet>> for Networks {
    fn from(nets: Vec<IpNet>) -> Self {
        nets.into_iter().collect()
    }
}

impl FromIterator<IpNet> for Networks {
    fn from_iter<I: IntoIterator<Item = IpNet>>(iter: I) -> Self {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for net in iter {
            // `network()` is the address with its host bits cleared.
            match net {
                IpNet::V4(n) => v4.push((u32::from(n.network()), u32::from(n.netmask()))),
                IpNet::V6(n) => v6.push((u128::from(n.network()), u128::from(n.netmask()))),
            }
        }
        Networks { v4, v6 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn nets(list: &[&str]) -> Networks {
        list.iter().map(|s| s.parse::<IpNet>().unwrap()).collect()
    }

    #[test]
    fn holds_the_addresses_of_its_networks_only() {
        let n = nets(&["10.0.0.0/8", "192.168.1.0/24", "fe80::/10", "0.0.0.0/32"]);
        for (ip, held) in [
            ("10.255.1.2", true),
            ("11.0.0.0", false),
            ("192.168.1.77", true),
            ("192.168.2.1", false),
            ("0.0.0.0", true),
            ("0.0.0.1", false),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", false),
            // An IPv4 network does not hold an IPv4-mapped IPv6 address, as with
            // IpNet::contains. Zeek, which keeps IPv4 addresses in that form, would count
            // it local; a packet's address is not written so.
            ("::ffff:10.0.0.1", false),
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(n.contains(&ip), held, "{ip}");
        }
    }

    #[test]
    fn a_network_given_with_host_bits_holds_its_whole_range() {
        // `10.1.2.3/8` is the network 10.0.0.0/8, as for IpNet::contains.
        let n = nets(&["10.1.2.3/8", "2001:db8::1/32"]);
        assert!(n.contains(&"10.200.0.1".parse().unwrap()));
        assert!(n.contains(&"2001:db8:ffff::".parse().unwrap()));
        let none = Networks::default();
        assert!(!none.contains(&"10.0.0.1".parse().unwrap()));
    }

    proptest! {
        #[test]
        fn agrees_with_ipnet(
            v4 in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..8),
            v6 in proptest::collection::vec((any::<u128>(), 0u8..=128), 0..8),
            a4 in any::<u32>(),
            a6 in any::<u128>(),
        ) {
            let mut list: Vec<IpNet> = Vec::new();
            for (a, len) in v4 {
                list.push(IpNet::new(Ipv4Addr::from(a).into(), len).unwrap());
            }
            for (a, len) in v6 {
                list.push(IpNet::new(Ipv6Addr::from(a).into(), len).unwrap());
            }
            let n = Networks::from(list.clone());
            // Addresses in the networks as well as random ones.
            let mut probes: Vec<IpAddr> =
                vec![Ipv4Addr::from(a4).into(), Ipv6Addr::from(a6).into()];
            probes.extend(list.iter().map(|net| net.network()));
            probes.extend(list.iter().map(|net| net.broadcast()));
            for ip in probes {
                prop_assert_eq!(n.contains(&ip), list.iter().any(|net| net.contains(&ip)));
            }
        }
    }
}
