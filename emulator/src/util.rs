//! Small helpers: timestamps in Edgegap's formats, random identifiers, query strings, locks.

use std::fs::File;
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// A secret (a token) kept in a struct that derives `Debug`: shown as `***`, never its text.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Hidden(pub String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Environment variables whose values may be secrets: `Debug` names them, without values.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct EnvVars(pub Vec<(String, String)>);

impl std::fmt::Debug for EnvVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| name))
            .finish()
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Days since 1970-01-01 to a civil (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A civil date to days since 1970-01-01 (inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn split(t: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400) as u32;
    (
        y,
        mo,
        d,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_micros(),
    )
}

/// v1 timestamp: naive UTC `YYYY-MM-DD HH:MM:SS.ffffff`.
pub(crate) fn v1_time(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, us) = split(t);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
}

/// Metrics timestamp: `YYYY-MM-DD HH:MM:SS.mmm`.
pub(crate) fn metrics_time(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, us) = split(t);
    format!(
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:03}",
        us / 1000
    )
}

/// v2 timestamp: ISO 8601 with `Z`.
pub(crate) fn iso_time(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, us) = split(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}Z")
}

/// Parses `YYYY-MM-DD HH:MM:SS[.f…]` (or with a `T`, optional `Z`) as UTC.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, "00:00:00"));
    let mut date_parts = date.split('-');
    let y: i64 = date_parts.next()?.parse().ok()?;
    let mo: u32 = date_parts.next()?.parse().ok()?;
    let d: u32 = date_parts.next()?.parse().ok()?;
    if date_parts.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let mut hms_parts = hms.split(':');
    let h: u64 = hms_parts.next()?.parse().ok()?;
    let mi: u64 = hms_parts.next()?.parse().ok()?;
    let s: u64 = hms_parts.next().unwrap_or("0").parse().ok()?;
    if h > 23 || mi > 59 || s > 60 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let micros: u64 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().chain("000000".chars()).take(6).collect();
        digits.parse().ok()?
    };
    if !(1970..=9999).contains(&y) {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    let secs = u64::try_from(days.checked_mul(86_400)?)
        .ok()?
        .checked_add(h * 3600 + mi * 60 + s)?;
    UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(secs))?
        .checked_add(std::time::Duration::from_micros(micros))
}

/// Parses exactly the metrics format `%Y-%m-%d %H:%M:%S.%f` (1 to 6 fraction digits) as UTC.
pub(crate) fn parse_metrics_time(text: &str) -> Option<SystemTime> {
    let (date, time) = text.split_once(' ')?;
    let (hms, frac) = time.split_once('.')?;
    let shape = |part: &str, sep: u8, lens: &[usize]| {
        let pieces: Vec<&str> = part.split(sep as char).collect();
        pieces.len() == lens.len()
            && pieces
                .iter()
                .zip(lens)
                .all(|(p, n)| p.len() == *n && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let frac_ok = (1..=6).contains(&frac.len()) && frac.bytes().all(|b| b.is_ascii_digit());
    if !(shape(date, b'-', &[4, 2, 2]) && shape(hms, b':', &[2, 2, 2]) && frac_ok) {
        return None;
    }
    parse_time(text)
}

/// SplitMix64: a tiny deterministic generator (fault probabilities, identifiers).
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Random bytes from the OS; falls back to a time/counter mix if `/dev/urandom` is unreadable.
fn os_random(buf: &mut [u8]) {
    let ok = File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .is_ok();
    if !ok {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        let mut rng = SplitMix::new(
            nanos ^ u64::from(std::process::id()) ^ COUNTER.fetch_add(1, Ordering::Relaxed),
        );
        for b in buf.iter_mut() {
            *b = rng.next_u64() as u8;
        }
    }
}

/// `len` lowercase hex characters from OS randomness (tokens, request ids).
pub(crate) fn random_hex(len: usize) -> String {
    let mut bytes = vec![0u8; len.div_ceil(2)];
    os_random(&mut bytes);
    let mut out = hex(&bytes);
    out.truncate(len);
    out
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random `u64` from OS randomness (seeds).
pub(crate) fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    os_random(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// Decodes `%XX` and `+` in a query-string component.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string into decoded `(key, value)` pairs.
pub(crate) fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_and_parses_v1_timestamps() {
        let t = UNIX_EPOCH + Duration::from_micros(1_776_859_246_444_265);
        assert_eq!(v1_time(t), "2026-04-22 12:00:46.444265");
        assert_eq!(parse_time("2026-04-22 12:00:46.444265"), Some(t));
        assert_eq!(iso_time(t), "2026-04-22T12:00:46.444265Z");
        assert_eq!(metrics_time(t), "2026-04-22 12:00:46.444");
        assert!(parse_time("2026-13-22 12:00:46").is_none());
        assert!(parse_time("99999999999999-01-01 00:00:00").is_none());
        assert!(parse_time("1969-12-31 23:59:59").is_none());
        assert_eq!(parse_metrics_time("2026-04-22 12:00:46.444265"), Some(t));
        assert!(parse_metrics_time("2026-04-22 12:00:46").is_none());
        assert!(parse_metrics_time("2026-04-22T12:00:46.4Z").is_none());
        assert!(parse_metrics_time("2026-04-22 12:00:46.1234567").is_none());
        assert!(parse_metrics_time("2026-4-22 12:00:46.1").is_none());
        assert!(parse_time("yesterday").is_none());
    }

    #[test]
    fn decodes_query_strings() {
        let q = parse_query(Some("query=%7B%22a%22%3A1%7D&page=2&x"));
        assert_eq!(q[0], ("query".into(), "{\"a\":1}".into()));
        assert_eq!(q[1], ("page".into(), "2".into()));
        assert_eq!(q[2], ("x".into(), String::new()));
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn random_hex_has_the_requested_length() {
        let a = random_hex(12);
        assert_eq!(a.len(), 12);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, random_hex(12));
    }
}
