//! Time on the wire: RFC 3339 in UTC; dates in a jurisdiction's time zone.

/// Formats Unix milliseconds as RFC 3339 UTC, for example `2026-11-28T08:00:00.000Z`.
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(timestamp) => format!("{timestamp:.3}"),
        Err(_) => String::new(),
    }
}

/// The calendar date at `ms` in the time zone `timezone` (an IANA name; UTC if unknown).
pub fn local_date(ms: i64, timezone: &str) -> jiff::civil::Date {
    let zone = jiff::tz::TimeZone::get(timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH).to_zoned_datetime(zone).date()
}

/// Whether `name` is an IANA time zone Gridline knows.
pub fn is_known_timezone(name: &str) -> bool {
    jiff::tz::TimeZone::get(name).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_and_localises() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00.000Z");
        // 2026-11-28 17:00 UTC is already 29 November in Shanghai.
        let ms = 1_795_885_200_000;
        assert_eq!(super::rfc3339(ms), "2026-11-28T17:00:00.000Z");
        assert_eq!(super::local_date(ms, "Asia/Shanghai"), jiff::civil::date(2026, 11, 29));
        assert_eq!(super::local_date(ms, "UTC"), jiff::civil::date(2026, 11, 28));
        assert!(super::is_known_timezone("Asia/Shanghai"));
        assert!(!super::is_known_timezone("Mars/Olympus"));
    }
}
