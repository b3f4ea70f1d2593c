//! Graphite's plaintext protocol: `path value timestamp\n` lines, as
//! collectd's `write_graphite`, carbon's senders and Telegraf's graphite
//! output write them. [`Lines`] cuts a byte stream into lines with bounded
//! memory; [`parse`] reads one. No I/O here: the listener
//! (`src/listener.rs`) feeds bytes in and takes points out.

use crate::error::MAX_NAME_BYTES;

/// Longest line kept: a name at pg_rrd's limit, a value and a time.
pub const MAX_LINE: usize = MAX_NAME_BYTES + 128;

/// One point of a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Point<'a> {
    /// The metric path, the series name.
    pub path: &'a str,
    /// The value; never NaN (the protocol has no unknown).
    pub value: f64,
    /// Microseconds since the epoch.
    pub t_us: i64,
}

/// Why a line was refused; each is counted separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// Not three fields separated by blanks.
    Malformed,
    /// The path is not UTF-8, or has control characters.
    BadPath,
    /// The value is not a finite number.
    BadValue,
    /// The timestamp is not a number of seconds from 1970 (1 s after its
    /// start) to 9999, nor -1.
    BadTime,
    /// Longer than [`MAX_LINE`].
    TooLong,
}

impl Refusal {
    /// Every reason, in a fixed order.
    pub const ALL: [Refusal; 5] = [
        Refusal::Malformed,
        Refusal::BadPath,
        Refusal::BadValue,
        Refusal::BadTime,
        Refusal::TooLong,
    ];

    /// The counter's name in `rrd.listener_stats()`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Refusal::Malformed => "refused_malformed",
            Refusal::BadPath => "refused_bad_path",
            Refusal::BadValue => "refused_bad_value",
            Refusal::BadTime => "refused_bad_time",
            Refusal::TooLong => "refused_too_long",
        }
    }
}

/// Reads one line (without its `\n`; a trailing `\r` is allowed).
/// `now_us` stands for the timestamp `-1`, which means "now" to carbon.
pub fn parse(line: &[u8], now_us: i64) -> Result<Point<'_>, Refusal> {
    if line.len() > MAX_LINE {
        return Err(Refusal::TooLong);
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut fields = line
        .split(|b| *b == b' ' || *b == b'\t')
        .filter(|f| !f.is_empty());
    let (Some(path), Some(value), Some(time), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Refusal::Malformed);
    };
    let path = std::str::from_utf8(path).map_err(|_| Refusal::BadPath)?;
    if path.len() > MAX_NAME_BYTES || path.chars().any(char::is_control) {
        return Err(Refusal::BadPath);
    }
    let value = number(value)
        .filter(|v| v.is_finite())
        .ok_or(Refusal::BadValue)?;
    let t_us = match number(time) {
        Some(-1.0) => now_us,
        // Carbon takes fractional seconds; so does an update. From 1 s on:
        // a new series starts a second before its first point.
        Some(t) if (1.0..=253_402_300_799.0).contains(&t) => (t * 1e6).round() as i64,
        _ => return Err(Refusal::BadTime),
    };
    Ok(Point { path, value, t_us })
}

/// A decimal number (no `inf`, `nan` or hex, which carbon's senders do
/// not write and a typo should not become).
fn number(field: &[u8]) -> Option<f64> {
    if !field
        .iter()
        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
    {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Cuts a byte stream into lines, keeping at most [`MAX_LINE`] bytes of
/// an unfinished one: the rest of a longer line is dropped up to its end
/// and reported once as [`Refusal::TooLong`].
#[derive(Debug, Default)]
pub struct Lines {
    partial: Vec<u8>,
    /// Inside a line that is too long, until its `\n`.
    dropping: bool,
}

/// What [`Lines::feed`] found in the bytes given.
#[derive(Debug, PartialEq)]
pub enum Piece<'a> {
    /// A whole line, without its `\n`.
    Line(&'a [u8]),
    /// A line longer than [`MAX_LINE`] ended (or was cut off).
    TooLong,
}

impl Lines {
    /// Calls `each` for every line that `bytes` completes, in order.
    pub fn feed(&mut self, mut bytes: &[u8], mut each: impl FnMut(Piece<'_>)) {
        while let Some(nl) = bytes.iter().position(|b| *b == b'\n') {
            let (head, rest) = (&bytes[..nl], &bytes[nl + 1..]);
            bytes = rest;
            if self.dropping {
                self.dropping = false;
                each(Piece::TooLong);
            } else if self.partial.is_empty() {
                if head.len() > MAX_LINE {
                    each(Piece::TooLong);
                } else {
                    each(Piece::Line(head));
                }
            } else if self.partial.len() + head.len() > MAX_LINE {
                self.partial.clear();
                each(Piece::TooLong);
            } else {
                self.partial.extend_from_slice(head);
                each(Piece::Line(&self.partial));
                self.partial.clear();
            }
        }
        if self.dropping {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE {
            self.partial.clear();
            self.dropping = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    /// At the end of the stream: the unfinished line, if any (a sender
    /// may close without a last `\n`).
    pub fn finish(&mut self, mut each: impl FnMut(Piece<'_>)) {
        if self.dropping {
            each(Piece::TooLong);
        } else if !self.partial.is_empty() {
            each(Piece::Line(&self.partial));
        }
        self.partial.clear();
        self.dropping = false;
    }

    /// Bytes held for an unfinished line.
    pub fn held(&self) -> usize {
        self.partial.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrng::XorShift;

    const NOW: i64 = 1_800_000_000_000_000;

    #[test]
    fn reads_carbon_lines() {
        let p = parse(b"servers.web01.cpu 42.5 1700000000", NOW).unwrap();
        assert_eq!(p.path, "servers.web01.cpu");
        assert_eq!(p.value, 42.5);
        assert_eq!(p.t_us, 1_700_000_000_000_000);
        assert_eq!(parse(b"a 1 -1\r", NOW).unwrap().t_us, NOW);
        assert_eq!(
            parse(b"a\t-1e3  1700000000.5", NOW).unwrap().t_us,
            1_700_000_000_500_000
        );
        assert_eq!(parse(b"a -1e3 1700000000", NOW).unwrap().value, -1000.0);
        let cases: [(&[u8], Refusal); 12] = [
            (b"a 1 0", Refusal::BadTime),
            (b"", Refusal::Malformed),
            (b"a 1", Refusal::Malformed),
            (b"a 1 2 3", Refusal::Malformed),
            (b"a nan 1700000000", Refusal::BadValue),
            (b"a inf 1700000000", Refusal::BadValue),
            (b"a 1e999 1700000000", Refusal::BadValue),
            (b"a 0x10 1700000000", Refusal::BadValue),
            (b"a 1 -2", Refusal::BadTime),
            (b"a 1 99999999999999", Refusal::BadTime),
            (b"\xff\xfe 1 1700000000", Refusal::BadPath),
            (b"a\x01b 1 1700000000", Refusal::BadPath),
        ];
        for (line, why) in cases {
            assert_eq!(
                parse(line, NOW),
                Err(why),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        let long = vec![b'a'; MAX_LINE + 1];
        assert_eq!(parse(&long, NOW), Err(Refusal::TooLong));
    }

    fn collect(l: &mut Lines, bytes: &[u8], out: &mut Vec<Result<Vec<u8>, ()>>) {
        l.feed(bytes, |p| {
            out.push(match p {
                Piece::Line(x) => Ok(x.to_vec()),
                Piece::TooLong => Err(()),
            })
        });
    }

    /// However the stream is cut, the same lines come out, and no more
    /// than a line's bound is held.
    #[test]
    fn lines_do_not_depend_on_how_the_stream_is_cut() {
        let mut rng = XorShift(0x11e5);
        for _ in 0..300 {
            let mut stream = Vec::new();
            let mut want = Vec::new();
            for _ in 0..rng.below(20) {
                let len = match rng.below(10) {
                    0 => MAX_LINE + 1 + rng.below(3 * MAX_LINE as u64) as usize,
                    1 => MAX_LINE,
                    _ => rng.below(40) as usize,
                };
                let line: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                want.push(if len > MAX_LINE {
                    Err(())
                } else {
                    Ok(line.clone())
                });
                stream.extend_from_slice(&line);
                stream.push(b'\n');
            }
            let mut l = Lines::default();
            let mut got = Vec::new();
            let mut rest = stream.as_slice();
            while !rest.is_empty() {
                let n = (1 + rng.below(3 * MAX_LINE as u64) as usize).min(rest.len());
                collect(&mut l, &rest[..n], &mut got);
                assert!(l.held() <= MAX_LINE);
                rest = &rest[n..];
            }
            l.finish(|_| panic!("nothing is left"));
            assert_eq!(got, want);
        }
    }

    #[test]
    fn an_unfinished_last_line_counts() {
        let mut l = Lines::default();
        let mut got = Vec::new();
        collect(&mut l, b"a 1 2\nb 3", &mut got);
        l.finish(|p| {
            assert_eq!(p, Piece::Line(b"b 3"));
            got.push(Ok(b"b 3".to_vec()))
        });
        assert_eq!(got.len(), 2);
    }

    /// Random bytes: a point or a refusal, never a panic.
    #[test]
    fn random_lines_never_panic() {
        let mut rng = XorShift(0xbadf00d);
        let alphabet = b"ab.- \t\r\n01234567899eE+-.x\xff\x00";
        let mut points = 0;
        for _ in 0..20_000 {
            let len = rng.below(40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize])
                .collect();
            if let Ok(p) = parse(&bytes, NOW) {
                assert!(p.value.is_finite() && p.t_us >= 0);
                points += 1;
            }
        }
        assert!(points > 0);
    }
}
