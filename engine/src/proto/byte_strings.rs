//! Byte strings each after a length byte, as DNS character-strings and TLS's ALPN protocol
//! lists carry them.

/// The strings of a buffer in which each follows its length byte. A string that runs past
/// the end of the buffer ends them.
#[derive(Clone, Debug)]
pub struct ByteStrings<'a> {
    /// The strings not listed yet.
    rest: &'a [u8],
}

impl<'a> ByteStrings<'a> {
    /// The strings of `wire`.
    pub fn new(wire: &'a [u8]) -> Self {
        ByteStrings { rest: wire }
    }
}

impl<'a> Iterator for ByteStrings<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.rest.split_first()?;
        let (s, rest) = rest.split_at_checked(usize::from(len))?;
        self.rest = rest;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_in_order_until_one_runs_past_the_end() {
        let all: Vec<&[u8]> = ByteStrings::new(b"\x02hi\x00\x01x\x05ab").collect();
        assert_eq!(all, [&b"hi"[..], b"", b"x"]);
        assert_eq!(ByteStrings::new(b"").next(), None);
    }
}
