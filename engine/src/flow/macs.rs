//! The MAC addresses seen on each side of a flow, in the order they appeared (Suricata's
//! `ether.src_macs` and `dest_macs`; Zeek's `orig_l2_addr` and `resp_l2_addr` are the
//! first ones).

/// MAC addresses kept per side at most.
const MAX_PER_SIDE: usize = 16;

/// A MAC address.
pub type Mac = [u8; 6];

/// The addresses of both sides (0: originator). The first of each side is kept inline;
/// more, which few flows have, in a second allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacSet {
    first: [Option<Mac>; 2],
    more: Option<Box<[Vec<Mac>; 2]>>,
}

impl MacSet {
    /// Records a packet from side `d` (0: originator) with source `src` and destination
    /// `dst`.
    pub(crate) fn add(&mut self, d: usize, src: Mac, dst: Mac) {
        self.add_one(d, src);
        self.add_one(1 - d, dst);
    }

    fn add_one(&mut self, side: usize, mac: Mac) {
        let Some(first) = self.first.get_mut(side) else {
            return;
        };
        match first {
            None => *first = Some(mac),
            Some(f) if *f == mac => {}
            Some(_) => {
                let more = self.more.get_or_insert_with(Box::default);
                if let Some(list) = more.get_mut(side) {
                    if !list.contains(&mac) && list.len() + 1 < MAX_PER_SIDE {
                        list.push(mac);
                    }
                }
            }
        }
    }

    /// The first address of side `side`.
    pub fn first(&self, side: usize) -> Option<Mac> {
        self.first.get(side).copied().flatten()
    }

    /// All addresses of side `side`, in order of appearance.
    pub fn all(&self, side: usize) -> Vec<Mac> {
        let mut v: Vec<Mac> = self.first(side).into_iter().collect();
        if let Some(more) = self.more.as_deref().and_then(|m| m.get(side)) {
            v.extend_from_slice(more);
        }
        v
    }

    /// Swaps the sides.
    pub(crate) fn flip(&mut self) {
        self.first.swap(0, 1);
        if let Some(m) = self.more.as_deref_mut() {
            m.swap(0, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_every_address_of_each_side_in_order() {
        let (a, b, c, d) = ([1; 6], [2; 6], [3; 6], [4; 6]);
        let mut m = MacSet::default();
        m.add(0, a, b);
        m.add(1, b, c); // the responder's packet to another MAC of the originator's side
        m.add(0, a, d);
        m.add(0, a, b);
        assert_eq!(m.all(0), vec![a, c]);
        assert_eq!(m.all(1), vec![b, d]);
        m.flip();
        assert_eq!(m.first(0), Some(b));
    }
}
