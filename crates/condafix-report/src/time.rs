//! Times as the inputs write them: RFC 3339 (condafix, Graph), `/Date(ms)/` (Windows
//! PowerShell 5.1's `ConvertTo-Json`), `YYYY-MM-DD HH:MM:SS` and `M/D/YYYY h:mm:ss AM` (console
//! exports; taken as UTC), and the compact form in `--report-dir` file names.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// The compact UTC form used in `--report-dir` file names: `20250102T030405Z`.
pub fn compact(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 3339 in UTC, to the second: `2025-01-02T03:04:05Z`.
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 3339 in UTC, to the millisecond (documents: two runs in one second stay ordered).
pub fn rfc3339_ms(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The UTC date: `2025-01-02`.
pub fn date(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d").to_string()
}

fn civil_utc(dt: DateTime) -> Option<Timestamp> {
    dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// Parse a time in any of the forms above.
pub fn parse(text: &str) -> Option<Timestamp> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    if let Some(ms) = s
        .trim_start_matches('\\')
        .trim_start_matches('/')
        .strip_prefix("Date(")
        .and_then(|r| r.split(')').next())
    {
        let digits: String = ms
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        return digits
            .parse::<i64>()
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok());
    }
    if let Some(t) = parse_compact(s) {
        return Some(t);
    }
    let iso = s.replacen(' ', "T", 1);
    if let Ok(dt) = iso.trim_end_matches('Z').parse::<DateTime>() {
        return civil_utc(dt);
    }
    parse_us(s)
}

/// `20250102T030405Z`.
pub fn parse_compact(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    if !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit) {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    );
    iso.parse::<DateTime>().ok().and_then(civil_utc)
}

/// `1/2/2025, 3:04:05 PM` or `1/2/2025 15:04` (the Intune console's US format).
fn parse_us(s: &str) -> Option<Timestamp> {
    let s = s.replace(',', " ");
    let mut words = s.split_whitespace();
    let date = words.next()?;
    let clock = words.next().unwrap_or("0:00:00");
    let ampm = words.next();
    let d: Vec<i16> = date
        .split('/')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [month, day, year] = d.as_slice() else {
        return None;
    };
    let c: Vec<i8> = clock
        .split(':')
        .map(|x| x.split('.').next().unwrap_or(x).parse().ok())
        .collect::<Option<_>>()?;
    let (mut h, m, sec) = match c.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    match ampm.map(str::to_ascii_uppercase).as_deref() {
        Some("PM") if h < 12 => h += 12,
        Some("AM") if h == 12 => h = 0,
        _ => {}
    }
    let date =
        jiff::civil::Date::new(*year, i8::try_from(*month).ok()?, i8::try_from(*day).ok()?).ok()?;
    let time = jiff::civil::Time::new(h, m, sec, 0).ok()?;
    civil_utc(date.to_datetime(time))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_the_inputs_use_reads_as_the_same_instant() {
        let want: Timestamp = "2025-01-02T15:04:05Z".parse().unwrap();
        for s in [
            "2025-01-02T15:04:05Z",
            "2025-01-02T07:04:05-08:00",
            "2025-01-02T15:04:05.0000000+00:00",
            "/Date(1735830245000)/",
            "\\/Date(1735830245000)\\/",
            "20250102T150405Z",
            "2025-01-02 15:04:05",
            "1/2/2025, 3:04:05 PM",
        ] {
            assert_eq!(parse(s), Some(want), "{s}");
        }
        assert_eq!(parse("yesterday"), None);
        assert_eq!(parse("13/45/2025 1:00"), None);
        assert_eq!(compact(want), "20250102T150405Z");
        assert_eq!(rfc3339(want), "2025-01-02T15:04:05Z");
        let ms: Timestamp = "2025-01-02T15:04:05.123456Z".parse().unwrap();
        assert_eq!(rfc3339_ms(ms), "2025-01-02T15:04:05.123Z");
        assert_eq!(
            parse(&rfc3339_ms(ms)),
            Some("2025-01-02T15:04:05.123Z".parse().unwrap())
        );
    }
}
