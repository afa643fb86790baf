//! Zeek's connection history string: one letter per kind of event and direction, upper case
//! for the originator and lower case for the responder; a few letters repeat on a
//! logarithmic scale (1st, 10th, 100th... occurrence).

/// The longest history kept; Zeek's strings are short in practice, this only bounds hostile
/// input.
const MAX_LEN: usize = 64;

/// A kind of event that history records once per direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mark {
    /// SYN without ACK (`S`).
    Syn = 0,
    /// SYN with ACK (`H`).
    SynAck,
    /// Pure ACK (`A`).
    Ack,
    /// Packet with payload (`D`).
    Data,
    /// FIN (`F`).
    Fin,
    /// RST (`R`).
    Rst,
    /// More than one of SYN/FIN/RST (`Q`).
    MultiFlag,
    /// FIN and RST together (`I`).
    FinRst,
}

impl Mark {
    fn letter(self) -> u8 {
        match self {
            Mark::Syn => b'S',
            Mark::SynAck => b'H',
            Mark::Ack => b'A',
            Mark::Data => b'D',
            Mark::Fin => b'F',
            Mark::Rst => b'R',
            Mark::MultiFlag => b'Q',
            Mark::FinRst => b'I',
        }
    }
}

/// A counter whose letter is written at the 1st, 10th, 100th... occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaled {
    count: u32,
    threshold: u32,
}

impl Default for Scaled {
    fn default() -> Self {
        Scaled {
            count: 0,
            threshold: 1,
        }
    }
}

impl Scaled {
    /// Counts one occurrence; true when the letter is due.
    pub fn bump(&mut self) -> bool {
        self.count = self.count.saturating_add(1);
        if self.count == self.threshold {
            self.threshold = self.threshold.saturating_mul(10);
            true
        } else {
            false
        }
    }

    /// Occurrences so far.
    pub fn count(&self) -> u32 {
        self.count
    }
}

/// The history of one connection.
#[derive(Clone, Debug, Default)]
pub struct History {
    text: Vec<u8>,
    /// Bit `mark` for the originator, bit `mark + 16` for the responder.
    seen: u32,
}

impl History {
    /// Records `mark` for the originator (`orig`) or responder, if not yet seen; returns
    /// whether it had been seen before.
    pub fn check(&mut self, orig: bool, mark: Mark) -> bool {
        let bit = 1u32 << (mark as u32 + if orig { 0 } else { 16 });
        if self.seen & bit != 0 {
            return true;
        }
        self.seen |= bit;
        self.add(orig, mark.letter());
        false
    }

    /// Appends `letter` (upper case) for the originator, or its lower case for the responder.
    pub fn add(&mut self, orig: bool, letter: u8) {
        if self.text.len() < MAX_LEN {
            self.text.push(if orig {
                letter
            } else {
                letter.to_ascii_lowercase()
            });
        }
    }

    /// Records that originator and responder swapped roles (`^`), swapping what was seen.
    pub fn flip(&mut self) {
        self.seen = self.seen.rotate_left(16);
        if self.text.len() < MAX_LEN {
            self.text.push(b'^');
        }
    }

    /// The history as Zeek writes it.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or("")
    }

    /// The history as Zeek writes it, moved out (leaving it empty).
    pub fn take_text(&mut self) -> String {
        let text = std::mem::take(&mut self.text);
        String::from_utf8(text).unwrap_or_default()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_once_per_direction() {
        let mut h = History::default();
        assert!(!h.check(true, Mark::Syn));
        assert!(!h.check(false, Mark::SynAck));
        assert!(h.check(true, Mark::Syn));
        assert!(!h.check(true, Mark::Ack));
        assert!(!h.check(true, Mark::Data));
        assert!(!h.check(false, Mark::Data));
        assert_eq!(h.as_str(), "ShADd");
    }

    #[test]
    fn flip_swaps_directions() {
        let mut h = History::default();
        h.flip();
        assert!(!h.check(false, Mark::SynAck));
        assert_eq!(h.as_str(), "^h");
        h.flip();
        assert!(h.check(true, Mark::SynAck));
    }

    #[test]
    fn scaled_counters_fire_at_powers_of_ten() {
        let mut s = Scaled::default();
        let mut fired = Vec::new();
        for _ in 0..1000 {
            if s.bump() {
                fired.push(s.count());
            }
        }
        assert_eq!(fired, vec![1, 10, 100, 1000]);
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::default();
        for _ in 0..1000 {
            h.add(true, b'T');
        }
        assert_eq!(h.as_str().len(), MAX_LEN);
    }
}
