//! Packet timestamps and their renderings in the formats of Zeek and Suricata.

/// A point in time, in nanoseconds since the Unix epoch (UTC).
///
/// Captures carry microsecond or nanosecond stamps; both fit. Negative values (captures
/// from before 1970, or hostile headers) are representable and render correctly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Nanoseconds per second.
const NANOS: i64 = 1_000_000_000;

impl Timestamp {
    /// The Unix epoch.
    pub const ZERO: Timestamp = Timestamp(0);

    /// A timestamp from seconds and a sub-second part in nanoseconds (clamped to < 1 s).
    pub fn from_parts(secs: i64, nanos: u32) -> Self {
        let nanos = i64::from(nanos.min(999_999_999));
        Timestamp(secs.saturating_mul(NANOS).saturating_add(nanos))
    }

    /// A timestamp from nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as a float (Zeek's `time` type).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS as f64
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(NANOS)
    }

    /// The sub-second part in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        // rem_euclid of a positive modulus is in 0..NANOS, which fits in u32.
        u32::try_from(self.0.rem_euclid(NANOS)).unwrap_or(0)
    }

    /// The duration from `earlier` to `self` in nanoseconds (saturating, never negative).
    pub fn nanos_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0).max(0)
    }

    /// This timestamp moved by `nanos` (saturating).
    pub fn plus_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }

    /// Appends Suricata's EVE rendering, `2016-01-27T21:09:20.613839+0000` (microseconds, UTC).
    pub fn write_eve(self, out: &mut String) {
        let text = self.eve_text();
        // Only ASCII digits and punctuation were written.
        out.push_str(std::str::from_utf8(&text).unwrap_or(""));
    }

    /// Suricata's EVE rendering as ASCII bytes (no allocation, no UTF-8 check: the EVE
    /// writer copies them into its line as they are).
    pub fn eve_text(self) -> [u8; 31] {
        let mut buf = *b"0000-00-00T00:00:00.000000+0000";
        buf[..19].copy_from_slice(&self.date_time());
        put_digits(&mut buf, 20, self.subsec_nanos() / 1000, 6);
        buf
    }

    /// `2016-01-27T21:09:20`. A timestamp holds nanoseconds in an i64, years 1677 to 2262:
    /// the year always has four digits.
    pub fn date_time(self) -> [u8; 19] {
        let secs = self.secs();
        LAST_DATE_TIME.with(|last| {
            let (at, text) = last.get();
            if at == Some(secs) {
                return text;
            }
            let text = date_time_of(secs);
            last.set((Some(secs), text));
            text
        })
    }

    /// Suricata's EVE rendering as a new string.
    pub fn eve(self) -> String {
        let mut s = String::with_capacity(32);
        self.write_eve(&mut s);
        s
    }

    /// ISO-8601 with seconds only, `2016-01-27T21:09:20Z` (reports, certificate validity).
    pub fn iso_seconds(self) -> String {
        let mut s = String::with_capacity(20);
        s.push_str(std::str::from_utf8(&self.date_time()).unwrap_or(""));
        s.push('Z');
        s
    }
}

thread_local! {
    /// The last second [`Timestamp::date_time`] rendered on this thread, and its text: most
    /// events fall in the second of the event before them, and the calendar costs more
    /// than the look.
    static LAST_DATE_TIME: std::cell::Cell<(Option<i64>, [u8; 19])> =
        const { std::cell::Cell::new((None, [0; 19])) };
}

/// `2016-01-27T21:09:20` for seconds since the epoch.
fn date_time_of(secs: i64) -> [u8; 19] {
    let (y, mo, d, h, mi, s) = civil(secs);
    let y = u32::try_from(y).unwrap_or(0);
    let mut buf = *b"0000-00-00T00:00:00";
    put_digits(&mut buf, 0, y, 4);
    put_digits(&mut buf, 5, mo, 2);
    put_digits(&mut buf, 8, d, 2);
    put_digits(&mut buf, 11, h, 2);
    put_digits(&mut buf, 14, mi, 2);
    put_digits(&mut buf, 17, s, 2);
    buf
}

/// Writes the last `width` decimal digits of `v` at `buf[at..]`.
fn put_digits(buf: &mut [u8], at: usize, mut v: u32, width: usize) {
    for i in (0..width).rev() {
        if let Some(b) = buf.get_mut(at + i) {
            *b = b'0' + (v % 10) as u8;
        }
        v /= 10;
    }
}

/// Calendar date and time of day (UTC) of a count of seconds since the epoch.
///
/// Howard Hinnant's `civil_from_days`, valid over the whole `i64` range we can produce.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let narrow = |v: i64| u32::try_from(v).unwrap_or(0);
    (
        y,
        narrow(m),
        narrow(d),
        narrow(tod / 3600),
        narrow(tod % 3600 / 60),
        narrow(tod % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_format_matches_suricata() {
        let t = Timestamp::from_parts(1_453_929_360, 613_839_000);
        assert_eq!(t.eve(), "2016-01-27T21:16:00.613839+0000");
    }

    #[test]
    fn epoch_and_negative_times_render() {
        assert_eq!(Timestamp::ZERO.eve(), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            Timestamp::from_nanos(-1).eve(),
            "1969-12-31T23:59:59.999999+0000"
        );
    }

    /// Seconds-only ISO text, written digit by digit, is what the formatting machinery
    /// prints.
    #[test]
    fn iso_seconds_for_every_kind_of_year() {
        for secs in [
            0,
            -1,
            951_782_400,
            4_102_444_799,
            253_402_300_799,
            253_402_300_800,
            -62_167_219_200,
            -62_167_219_201,
        ] {
            // Timestamps hold nanoseconds in an i64 (years 1677 to 2262): the last four
            // saturate, and what is printed is the time they hold.
            let t = Timestamp::from_parts(secs, 0);
            let (y, mo, d, h, mi, s) = civil(t.secs());
            assert_eq!(
                t.iso_seconds(),
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
                "{secs}"
            );
            // The year has four digits however far the input reaches, and the EVE
            // timestamp holds the same date and time.
            assert!((1677..=2262).contains(&y), "{secs}: {y}");
            assert_eq!(t.eve().get(..19), t.iso_seconds().get(..19), "{secs}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(-86_400), (1969, 12, 31, 0, 0, 0));
        assert_eq!(civil(4_102_444_799), (2099, 12, 31, 23, 59, 59));
    }
}
