//! Time conversions between PostgreSQL's and the Unix epoch, the range of
//! times a series stores, and a plain ISO 8601 rendering for messages. No
//! pgrx.

/// Microseconds from 1970-01-01 to 2000-01-01 (PostgreSQL's epoch).
pub const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;

/// Microseconds per second.
pub const US: i64 = 1_000_000;

/// The latest time a series takes as an update or a start:
/// 9999-12-31 23:59:59.999999 UTC. Every row a series can hold then ends
/// before PostgreSQL's last timestamptz, so its label never overflows.
pub const MAX_US: i64 = 253_402_300_799_999_999;

/// An error unless `unix_us` is at or before [`MAX_US`]; `what` names it
/// in the message ("update time", "start").
pub fn check_storable(unix_us: i64, what: &str) -> crate::error::Result<()> {
    if unix_us <= MAX_US {
        return Ok(());
    }
    Err(crate::error::RrdError::TimeRange {
        msg: format!(
            "{what} {} is out of range: pg_rrd takes times up to {}",
            format(unix_us),
            format(MAX_US)
        ),
    })
}

/// Unix microseconds from PostgreSQL's timestamptz microseconds; `None`
/// past the last Unix microsecond an `i64` holds (in the year 294247).
pub fn from_pg(pg_us: i64) -> Option<i64> {
    pg_us.checked_add(PG_EPOCH_OFFSET_US)
}

/// PostgreSQL's timestamptz microseconds from Unix microseconds.
pub fn to_pg(unix_us: i64) -> i64 {
    unix_us.saturating_sub(PG_EPOCH_OFFSET_US)
}

/// Whole seconds at or before `unix_us`.
pub fn floor_secs(unix_us: i64) -> i64 {
    unix_us.div_euclid(US)
}

/// `unix_us` as `YYYY-MM-DD HH:MM:SS[.ffffff]+00`, the way psql shows a
/// timestamptz in UTC, so that messages name times a user can paste.
pub fn format(unix_us: i64) -> String {
    let secs = unix_us.div_euclid(US);
    let frac = unix_us.rem_euclid(US);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if frac != 0 {
        let f = format!(".{frac:06}");
        s.push_str(f.trim_end_matches('0'));
    }
    s.push_str("+00");
    s
}

/// Proleptic Gregorian date of a day count from 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_psql_in_utc() {
        assert_eq!(format(0), "1970-01-01 00:00:00+00");
        assert_eq!(format(1_000_000_000 * US), "2001-09-09 01:46:40+00");
        assert_eq!(
            format(1_000_000_000 * US + 120_000),
            "2001-09-09 01:46:40.12+00"
        );
        assert_eq!(format(951_782_400 * US), "2000-02-29 00:00:00+00");
        assert_eq!(format(-US), "1969-12-31 23:59:59+00");
    }

    #[test]
    fn epochs() {
        assert_eq!(from_pg(0), Some(PG_EPOCH_OFFSET_US));
        assert_eq!(from_pg(123).map(to_pg), Some(123));
        assert_eq!(from_pg(i64::MAX), None);
        assert_eq!(format(MAX_US), "9999-12-31 23:59:59.999999+00");
        assert_eq!(format(MAX_US + 1), "10000-01-01 00:00:00+00");
        assert_eq!(floor_secs(-1), -1);
    }
}
