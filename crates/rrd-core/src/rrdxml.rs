//! `rrdtool dump` XML, both ways: [`read`] turns a dump into one
//! [`Imported`] series per data source, [`write`] turns a series back into a
//! dump that `rrdtool restore` accepts.
//!
//! The reader streams: a small tokenizer over the text, no tree, so the
//! memory a dump costs is its rows as doubles. It is strict about what it
//! uses (every number is checked, every count must agree) and names the bad
//! part and its line; elements it does not use (Holt-Winters parameters,
//! comments, the DTD) are stepped over.
//!
//! What a dump cannot say: rrdtool prints the last update in whole seconds
//! and every value with 11 significant digits, so a series imported from a
//! dump continues exactly as `rrdtool restore` of that dump does (numbers
//! are read with rrdtool's own reader), not to the last bit as the original
//! file would. The writer prints every double as a text rrdtool's reader
//! gives back exactly; the few doubles that reader gives for no text come
//! back a unit in the last place off.

use std::fmt::Write as _;

use crate::def::{Archive, Cf, DataSource, Definition, DsKind};
use crate::engine::{CdpState, State};
use crate::error::{FileFormat, Result, RrdError};
use crate::import::Imported;

/// Deepest nesting a dump has (`rrd/rra/cdp_prep/ds/value`), with room.
const MAX_DEPTH: usize = 16;

/// How to treat parts pg_rrd has no equivalent for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Skip COMPUTE data sources and Holt-Winters archives (each named in
    /// [`Dump::skipped`]) instead of refusing the dump.
    pub skip_unsupported: bool,
    /// Called every few thousand tokens.
    pub tick: crate::import::Tick,
}

/// What a dump gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    /// One per data source kept, in the dump's order. With one data source
    /// its `suffix` is `None`; with several, each is named after its data
    /// source.
    pub series: Vec<Imported>,
    /// The parts skipped under [`Options::skip_unsupported`], described.
    pub skipped: Vec<String>,
}

fn bad(line: usize, msg: impl std::fmt::Display) -> RrdError {
    RrdError::BadFile {
        format: FileFormat::RrdtoolDump,
        msg: format!("line {line}: {msg}"),
    }
}

/// One token of the XML text.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    Start(&'a str),
    End(&'a str),
    /// Text between tags, entities not yet decoded, never only whitespace.
    Text(&'a str),
    Eof,
}

/// A pull tokenizer for the XML subset `rrdtool dump` writes: elements
/// without attributes (attributes are refused), text, comments, one
/// declaration and one DOCTYPE. Keeps the element stack to check nesting.
struct Tokens<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
    stack: Vec<&'a str>,
    peeked: Option<(Token<'a>, usize)>,
    tick: crate::import::Tick,
    tokens: u64,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens {
            text,
            pos: 0,
            line: 1,
            stack: Vec::new(),
            peeked: None,
            tick: Default::default(),
            tokens: 0,
        }
    }

    fn advance(&mut self, n: usize) {
        let end = (self.pos + n).min(self.text.len());
        self.line += self.text.as_bytes()[self.pos..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = end;
    }

    /// Skips past `end`, or fails naming `what`.
    fn skip_past(&mut self, end: &str, what: &str) -> Result<()> {
        match self.text[self.pos..].find(end) {
            Some(i) => {
                self.advance(i + end.len());
                Ok(())
            }
            None => Err(bad(self.line, format!("unterminated {what}"))),
        }
    }

    fn next(&mut self) -> Result<Token<'a>> {
        match self.peeked.take() {
            Some((t, _)) => Ok(t),
            None => self.scan(),
        }
    }

    fn scan(&mut self) -> Result<Token<'a>> {
        self.tokens += 1;
        self.tick.at(self.tokens);
        loop {
            let rest = &self.text[self.pos..];
            if rest.is_empty() {
                if let Some(open) = self.stack.last() {
                    return Err(bad(
                        self.line,
                        format!("the text ends inside <{open}> (truncated?)"),
                    ));
                }
                return Ok(Token::Eof);
            }
            if !rest.starts_with('<') {
                let end = rest.find('<').unwrap_or(rest.len());
                let chunk = &rest[..end];
                let start_line = self.line;
                self.advance(end);
                if chunk.trim().is_empty() {
                    continue;
                }
                if self.stack.is_empty() {
                    return Err(bad(start_line, "text outside the <rrd> element"));
                }
                return Ok(Token::Text(chunk.trim()));
            }
            if rest.starts_with("<!--") {
                self.skip_past("-->", "comment")?;
                continue;
            }
            if rest.starts_with("<?") {
                self.skip_past("?>", "declaration")?;
                continue;
            }
            if rest.starts_with("<!DOCTYPE") {
                // rrdtool's DOCTYPE names a system DTD and has no internal
                // subset; one with a subset (entity definitions) is refused.
                let end = rest.find('>').unwrap_or(rest.len());
                if rest[..end].contains('[') {
                    return Err(bad(self.line, "a DOCTYPE with an internal subset"));
                }
                self.skip_past(">", "DOCTYPE")?;
                continue;
            }
            if rest.starts_with("<![CDATA[") {
                return Err(bad(self.line, "CDATA sections are not part of a dump"));
            }
            let end = match rest.find('>') {
                Some(e) => e,
                None => return Err(bad(self.line, "unterminated tag")),
            };
            let inner = &rest[1..end];
            let line = self.line;
            self.advance(end + 1);
            if let Some(name) = inner.strip_prefix('/') {
                let name = name.trim_end();
                return match self.stack.pop() {
                    Some(open) if open == name => Ok(Token::End(name)),
                    Some(open) => Err(bad(
                        line,
                        format!("</{}> closes <{open}>", crate::error::shown(name)),
                    )),
                    None => Err(bad(line, format!("</{}> closes nothing", shown(name)))),
                };
            }
            let (name, empty) = match inner.strip_suffix('/') {
                Some(n) => (n.trim_end(), true),
                None => (inner.trim_end(), false),
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(bad(
                    line,
                    format!(
                        "<{}> is not an element of a dump (attributes are not either)",
                        shown(inner)
                    ),
                ));
            }
            if self.stack.is_empty() && name != "rrd" {
                return Err(bad(line, format!("<{name}> where <rrd> was expected")));
            }
            if self.stack.len() >= MAX_DEPTH {
                return Err(bad(line, "elements nested too deeply"));
            }
            if empty {
                // <x/> is <x></x>: push it so that the End is checked.
                self.stack.push(name);
                self.peeked = Some((Token::End(name), line));
                self.stack.pop();
                return Ok(Token::Start(name));
            }
            self.stack.push(name);
            return Ok(Token::Start(name));
        }
    }

    /// Skips the rest of an element whose Start was just read.
    fn skip_element(&mut self) -> Result<()> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.next()? {
                Token::Start(_) => depth += 1,
                Token::End(_) => depth -= 1,
                Token::Text(_) => {}
                Token::Eof => return Err(bad(self.line, "the text ends inside an element")),
            }
        }
        Ok(())
    }

    /// The text of an element whose Start was just read, up to its End
    /// (which is consumed); "" when empty. Child elements are refused.
    fn text_of(&mut self, name: &str) -> Result<String> {
        let mut out = String::new();
        loop {
            match self.next()? {
                Token::Text(t) => out.push_str(&decode(t, self.line)?),
                Token::End(_) => return Ok(out),
                Token::Start(child) => {
                    return Err(bad(
                        self.line,
                        format!("<{child}> inside <{name}>, which holds only text"),
                    ))
                }
                Token::Eof => return Err(bad(self.line, format!("unterminated <{name}>"))),
            }
        }
    }
}

fn shown(s: &str) -> std::borrow::Cow<'_, str> {
    crate::error::at_most(s, 40)
}

/// Decodes XML's predefined and numeric entities.
fn decode(t: &str, line: usize) -> Result<String> {
    if !t.contains('&') {
        return Ok(t.to_string());
    }
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after
            .find(';')
            .filter(|&e| e <= 10)
            .ok_or_else(|| bad(line, "an unterminated entity"))?;
        let ent = &after[..end];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = ent.strip_prefix('#') {
                    d.parse().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| bad(line, format!("unknown entity &{};", shown(ent))))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A number as rrdtool prints it: decimal, `NaN`, `inf`, `-inf`.
fn number(text: &str, what: &str, line: usize) -> Result<f64> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ if t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
        {
            // rrdtool restore's own reader, not a correctly rounded one: an
            // import continues as the restored file does, to the last bit.
            crate::engine::rrd_strtod(t)
        }
        _ => None,
    };
    v.ok_or_else(|| bad(line, format!("{what} \"{}\" is not a number", shown(t))))
}

/// A non-negative integer (rrdtool prints counts as plain decimals).
fn count(text: &str, what: &str, line: usize) -> Result<u64> {
    let t = text.trim();
    t.parse::<u64>()
        .map_err(|_| bad(line, format!("{what} \"{}\" is not a count", shown(t))))
}

/// A data source as the dump describes it.
struct DsDump {
    name: String,
    /// `None` for COMPUTE.
    kind: Option<DsKind>,
    heartbeat: u64,
    min: Option<f64>,
    max: Option<f64>,
    last_ds: Option<String>,
    value: f64,
    unknown_sec: u64,
}

/// An archive as the dump describes it; `cf` is `None` for the
/// Holt-Winters family, named by `cf_name`.
struct RraDump {
    cf: Option<Cf>,
    cf_name: String,
    steps: u64,
    xff: f64,
    cdp: Vec<CdpState>,
    /// Rows in file order, one value per data source each.
    rows: Vec<f64>,
    row_count: u64,
}

/// Reads `rrdtool dump` output into one series per data source.
pub fn read(xml: &str, opts: &Options) -> Result<Dump> {
    let mut tk = Tokens::new(xml);
    tk.tick = opts.tick;
    match tk.next()? {
        Token::Start("rrd") => {}
        Token::Eof => return Err(bad(tk.line, "no <rrd> element (empty text?)")),
        t => return Err(bad(tk.line, format!("{t:?} where <rrd> was expected"))),
    }
    let mut step = None;
    let mut lastupdate = None;
    let mut dss: Vec<DsDump> = Vec::new();
    let mut rras: Vec<RraDump> = Vec::new();
    loop {
        let line = tk.line;
        match tk.next()? {
            Token::End(_) => break,
            Token::Text(t) => return Err(bad(line, format!("text \"{}\" in <rrd>", shown(t)))),
            Token::Eof => return Err(bad(line, "unterminated <rrd>")),
            Token::Start(name) => match name {
                "version" => {
                    let v = tk.text_of(name)?;
                    // 0005 is what rrdtool 1.7 writes for DCOUNTER and DDERIVE.
                    if !matches!(v.trim(), "0001" | "0002" | "0003" | "0004" | "0005") {
                        return Err(RrdError::Unsupported {
                            msg: format!(
                                "rrdtool dump version \"{}\" is not one pg_rrd reads (0001 to 0005)",
                                shown(v.trim())
                            ),
                        });
                    }
                }
                "step" => step = Some(count(&tk.text_of(name)?, "<step>", line)?),
                "lastupdate" => lastupdate = Some(count(&tk.text_of(name)?, "<lastupdate>", line)?),
                "ds" => {
                    if !rras.is_empty() {
                        return Err(bad(line, "<ds> after the first <rra>"));
                    }
                    dss.push(read_ds(&mut tk)?);
                }
                "rra" => rras.push(read_rra(&mut tk, dss.len())?),
                _ => tk.skip_element()?,
            },
        }
    }
    if tk.next()? != Token::Eof {
        return Err(bad(tk.line, "more after </rrd>"));
    }
    let step = step.ok_or_else(|| bad(tk.line, "no <step>"))?;
    let lastupdate = lastupdate.ok_or_else(|| bad(tk.line, "no <lastupdate>"))?;
    if dss.is_empty() {
        return Err(bad(tk.line, "no <ds>"));
    }
    if rras.is_empty() {
        return Err(bad(tk.line, "no <rra>"));
    }
    let last_up = i64::try_from(lastupdate)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000))
        .ok_or_else(|| {
            bad(
                tk.line,
                format!("<lastupdate> {lastupdate} is out of range"),
            )
        })?;
    crate::time::check_storable(last_up, "the dump's last update")?;

    let mut skipped = Vec::new();
    let mut kept_rras = Vec::new();
    for (i, r) in rras.iter().enumerate() {
        match r.cf {
            Some(cf) => kept_rras.push((i, cf)),
            None if opts.skip_unsupported => skipped.push(format!(
                "archive {} ({}): pg_rrd has no Holt-Winters archives",
                i + 1,
                r.cf_name
            )),
            None => {
                return Err(RrdError::Unsupported {
                    msg: format!(
                        "archive {} of the dump is {}: pg_rrd has no Holt-Winters archives \
                         (skip_unsupported => true imports the others)",
                        i + 1,
                        r.cf_name
                    ),
                })
            }
        }
    }
    if kept_rras.is_empty() {
        return Err(RrdError::Unsupported {
            msg: "no archive of the dump is one pg_rrd has (AVERAGE, MIN, MAX, LAST)".into(),
        });
    }
    let several = dss.len() > 1;
    let mut series = Vec::new();
    for (d, ds) in dss.iter().enumerate() {
        let Some(kind) = ds.kind else {
            if opts.skip_unsupported {
                skipped.push(format!(
                    "data source \"{}\": COMPUTE data sources are not stored",
                    ds.name
                ));
                continue;
            }
            return Err(RrdError::Unsupported {
                msg: format!(
                    "data source \"{}\" of the dump is COMPUTE: pg_rrd stores no computed data sources \
                     (skip_unsupported => true imports the others)",
                    ds.name
                ),
            });
        };
        let def = Definition {
            lateness: 0,
            step,
            ds: DataSource {
                name: ds.name.clone(),
                kind,
                heartbeat: ds.heartbeat,
                min: ds.min,
                max: ds.max,
            },
            archives: kept_rras
                .iter()
                .map(|&(i, cf)| Archive {
                    cf,
                    xff: rras[i].xff,
                    steps: rras[i].steps,
                    rows: rras[i].row_count,
                })
                .collect(),
        };
        def.validate().map_err(|e| match e {
            RrdError::BadParameter { msg } => RrdError::BadParameter {
                msg: format!("data source \"{}\" of the dump: {msg}", ds.name),
            },
            e => e,
        })?;
        let state = State {
            last_up,
            last_ds: ds.last_ds.clone(),
            pdp_val: ds.value,
            pdp_unknown_sec: ds.unknown_sec,
            cdp: kept_rras
                .iter()
                .map(|&(i, _)| rras[i].cdp[d].clone())
                .collect(),
        };
        let n = dss.len();
        let rows = kept_rras
            .iter()
            .map(|&(i, _)| rras[i].rows.iter().skip(d).step_by(n).copied().collect())
            .collect();
        let imported = Imported {
            suffix: several.then(|| ds.name.clone()),
            def,
            state,
            rows,
        };
        imported.check()?;
        series.push(imported);
    }
    if series.is_empty() {
        return Err(RrdError::Unsupported {
            msg: "no data source of the dump is one pg_rrd stores".into(),
        });
    }
    Ok(Dump { series, skipped })
}

fn read_ds(tk: &mut Tokens<'_>) -> Result<DsDump> {
    let start = tk.line;
    let mut name = None;
    let mut kind_name = None;
    let mut heartbeat = None;
    let mut min = None;
    let mut max = None;
    let mut last_ds = None;
    let mut value = None;
    let mut unknown_sec = None;
    loop {
        let line = tk.line;
        match tk.next()? {
            Token::End(_) => break,
            Token::Text(t) => return Err(bad(line, format!("text \"{}\" in <ds>", shown(t)))),
            Token::Eof => return Err(bad(line, "unterminated <ds>")),
            Token::Start(el) => {
                let text = match el {
                    "name" | "type" | "minimal_heartbeat" | "min" | "max" | "last_ds" | "value"
                    | "unknown_sec" => tk.text_of(el)?,
                    _ => {
                        tk.skip_element()?;
                        continue;
                    }
                };
                match el {
                    "name" => name = Some(text.trim().to_string()),
                    "type" => kind_name = Some(text.trim().to_string()),
                    "minimal_heartbeat" => {
                        heartbeat = Some(count(&text, "<minimal_heartbeat>", line)?)
                    }
                    "min" => min = Some(number(&text, "<min>", line)?),
                    "max" => max = Some(number(&text, "<max>", line)?),
                    "last_ds" => last_ds = Some(text.trim().to_string()),
                    "value" => value = Some(number(&text, "<ds><value>", line)?),
                    _ => unknown_sec = Some(count(&text, "<unknown_sec>", line)?),
                }
            }
        }
    }
    let name = name.ok_or_else(|| bad(start, "a <ds> without <name>"))?;
    let kind_name =
        kind_name.ok_or_else(|| bad(start, format!("<ds> \"{name}\" has no <type>")))?;
    let kind = if kind_name == "COMPUTE" {
        None
    } else {
        Some(DsKind::from_name(&kind_name).ok_or_else(|| {
            bad(
                start,
                format!("<ds> \"{name}\" has unknown type \"{}\"", shown(&kind_name)),
            )
        })?)
    };
    let missing = |what: &str| bad(start, format!("<ds> \"{name}\" has no <{what}>"));
    let (heartbeat, min, max) = if kind.is_some() {
        (
            heartbeat.ok_or_else(|| missing("minimal_heartbeat"))?,
            min.ok_or_else(|| missing("min"))?,
            max.ok_or_else(|| missing("max"))?,
        )
    } else {
        (1, f64::NAN, f64::NAN)
    };
    let last_ds = last_ds.ok_or_else(|| missing("last_ds"))?;
    if last_ds.len() > 29 {
        return Err(bad(
            start,
            format!("<ds> \"{name}\": <last_ds> is longer than rrdtool keeps (29 bytes)"),
        ));
    }
    Ok(DsDump {
        kind,
        heartbeat,
        min: (!min.is_nan()).then_some(min),
        max: (!max.is_nan()).then_some(max),
        last_ds: (last_ds != "U").then_some(last_ds),
        value: value.ok_or_else(|| missing("value"))?,
        unknown_sec: unknown_sec.ok_or_else(|| missing("unknown_sec"))?,
        name,
    })
}

fn read_rra(tk: &mut Tokens<'_>, ds_count: usize) -> Result<RraDump> {
    let start = tk.line;
    let mut cf_name = None;
    let mut steps = None;
    let mut xff = None;
    let mut cdp = None;
    let mut rows = Vec::new();
    let mut row_count = 0u64;
    let mut database = false;
    loop {
        let line = tk.line;
        match tk.next()? {
            Token::End(_) => break,
            Token::Text(t) => return Err(bad(line, format!("text \"{}\" in <rra>", shown(t)))),
            Token::Eof => return Err(bad(line, "unterminated <rra>")),
            Token::Start(el) => match el {
                "cf" => cf_name = Some(tk.text_of(el)?.trim().to_string()),
                "pdp_per_row" => steps = Some(count(&tk.text_of(el)?, "<pdp_per_row>", line)?),
                "params" => xff = read_params(tk)?,
                "cdp_prep" => cdp = Some(read_cdp_prep(tk, ds_count)?),
                "database" => {
                    database = true;
                    read_database(tk, ds_count, &mut rows, &mut row_count)?;
                }
                _ => tk.skip_element()?,
            },
        }
    }
    let cf_name = cf_name.ok_or_else(|| bad(start, "an <rra> without <cf>"))?;
    let missing = |what: &str| bad(start, format!("<rra> ({cf_name}) has no <{what}>"));
    let steps = steps.ok_or_else(|| missing("pdp_per_row"))?;
    if !database {
        return Err(missing("database"));
    }
    let cf = Cf::ALL.into_iter().find(|c| c.as_str() == cf_name);
    if cf.is_none()
        && !matches!(
            cf_name.as_str(),
            "HWPREDICT" | "MHWPREDICT" | "SEASONAL" | "DEVSEASONAL" | "DEVPREDICT" | "FAILURES"
        )
    {
        return Err(bad(
            start,
            format!("<rra> has unknown <cf> \"{}\"", shown(&cf_name)),
        ));
    }
    let (xff, cdp) = if cf.is_some() {
        let cdp: Option<Vec<CdpState>> = cdp
            .ok_or_else(|| missing("cdp_prep"))?
            .into_iter()
            .collect();
        (
            xff.ok_or_else(|| missing("params><xff"))?,
            cdp.ok_or_else(|| {
                bad(
                    start,
                    "a <cdp_prep><ds> without <value> or <unknown_datapoints>",
                )
            })?,
        )
    } else {
        (0.0, Vec::new())
    };
    if !(0.0..1.0).contains(&xff) {
        return Err(bad(start, format!("<xff> {xff} is not in [0, 1)")));
    }
    Ok(RraDump {
        cf,
        cf_name,
        steps,
        xff,
        cdp,
        rows,
        row_count,
    })
}

fn read_params(tk: &mut Tokens<'_>) -> Result<Option<f64>> {
    let mut xff = None;
    loop {
        let line = tk.line;
        match tk.next()? {
            Token::End(_) => return Ok(xff),
            Token::Start("xff") => xff = Some(number(&tk.text_of("xff")?, "<xff>", line)?),
            Token::Start(_) => tk.skip_element()?,
            Token::Text(t) => return Err(bad(line, format!("text \"{}\" in <params>", shown(t)))),
            Token::Eof => return Err(bad(line, "unterminated <params>")),
        }
    }
}

fn read_cdp_prep(tk: &mut Tokens<'_>, ds_count: usize) -> Result<Vec<Option<CdpState>>> {
    let mut out = Vec::new();
    loop {
        let line = tk.line;
        match tk.next()? {
            Token::End(_) => break,
            Token::Start("ds") => {
                let mut val = None;
                let mut unknown = None;
                loop {
                    let line = tk.line;
                    match tk.next()? {
                        Token::End(_) => break,
                        Token::Start("value") => {
                            val = Some(number(&tk.text_of("value")?, "<cdp_prep><value>", line)?)
                        }
                        Token::Start("unknown_datapoints") => {
                            unknown = Some(count(
                                &tk.text_of("unknown_datapoints")?,
                                "<unknown_datapoints>",
                                line,
                            )?)
                        }
                        Token::Start(_) => tk.skip_element()?,
                        Token::Text(t) => {
                            return Err(bad(
                                line,
                                format!("text \"{}\" in <cdp_prep><ds>", shown(t)),
                            ))
                        }
                        Token::Eof => return Err(bad(line, "unterminated <cdp_prep>")),
                    }
                }
                // Holt-Winters archives keep other fields; the caller
                // refuses a missing one only where it needs it.
                out.push(match (val, unknown) {
                    (Some(val), Some(unknown_pdps)) => Some(CdpState { val, unknown_pdps }),
                    _ => None,
                });
                if out.len() > ds_count {
                    return Err(bad(
                        line,
                        format!("more <cdp_prep> entries than the {ds_count} <ds>"),
                    ));
                }
            }
            Token::Start(_) => tk.skip_element()?,
            Token::Text(t) => {
                return Err(bad(line, format!("text \"{}\" in <cdp_prep>", shown(t))))
            }
            Token::Eof => return Err(bad(line, "unterminated <cdp_prep>")),
        }
    }
    if out.len() != ds_count {
        return Err(bad(
            tk.line,
            format!("{} <cdp_prep> entries for {ds_count} <ds>", out.len()),
        ));
    }
    Ok(out)
}

fn read_database(
    tk: &mut Tokens<'_>,
    ds_count: usize,
    rows: &mut Vec<f64>,
    row_count: &mut u64,
) -> Result<()> {
    loop {
        let line = tk.line;
        match tk.next()? {
            Token::End(_) => return Ok(()),
            Token::Start("row") => {
                let before = rows.len();
                loop {
                    let line = tk.line;
                    match tk.next()? {
                        Token::End(_) => break,
                        Token::Start("v") => rows.push(number(&tk.text_of("v")?, "<v>", line)?),
                        Token::Start(other) => {
                            return Err(bad(line, format!("<{other}> in a <row>")))
                        }
                        Token::Text(t) => {
                            return Err(bad(line, format!("text \"{}\" in a <row>", shown(t))))
                        }
                        Token::Eof => return Err(bad(line, "unterminated <row>")),
                    }
                }
                if rows.len() - before != ds_count {
                    return Err(bad(
                        line,
                        format!(
                            "a <row> of {} values for {ds_count} <ds>",
                            rows.len() - before
                        ),
                    ));
                }
                *row_count += 1;
            }
            Token::Start(other) => return Err(bad(line, format!("<{other}> in <database>"))),
            Token::Text(t) => {
                return Err(bad(line, format!("text \"{}\" in <database>", shown(t))))
            }
            Token::Eof => return Err(bad(line, "unterminated <database>")),
        }
    }
}

/// A double as a text `rrdtool restore` reads back as exactly it, where
/// rrdtool's reader can give it at all (see [`crate::engine::rrd_text`]).
fn exact(out: &mut String, v: f64) {
    out.push_str(&crate::engine::rrd_text(v));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Bytes [`write`] needs at most per ring slot, for a caller's size check.
pub const BYTES_PER_ROW: u64 = 80;

/// An `rrdtool dump` of one series: `value(a, g)` is slot `g` of archive
/// `a` (NaN when unknown). `rrdtool restore` reads it back into a file
/// whose `fetch` gives the same rows and whose updates continue the same:
/// the values are exact, and so is the state, except that the last
/// update's microseconds (which a dump has no room for) are dropped.
pub fn write(def: &Definition, state: &State, value: impl Fn(usize, i64) -> f64) -> String {
    let slots = def.total_slots();
    let mut out = String::with_capacity((slots.min(1 << 24) * BYTES_PER_ROW) as usize + 4096);
    let last_sec = crate::time::floor_secs(state.last_up);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<!-- Round Robin Database Dump, written by pg_rrd -->\n<rrd>\n");
    // rrdtool reads DCOUNTER and DDERIVE only from version 0005 on.
    let version = match def.ds.kind {
        DsKind::DCounter | DsKind::DDerive => "0005",
        _ => "0003",
    };
    let _ = writeln!(out, "\t<version>{version}</version>");
    let _ = writeln!(out, "\t<step>{}</step>", def.step);
    let _ = writeln!(out, "\t<lastupdate>{last_sec}</lastupdate>");
    let ds = &def.ds;
    let _ = writeln!(out, "\t<ds>\n\t\t<name> {} </name>", ds.name);
    let _ = writeln!(out, "\t\t<type> {} </type>", ds.kind.as_str());
    let _ = writeln!(
        out,
        "\t\t<minimal_heartbeat>{}</minimal_heartbeat>",
        ds.heartbeat
    );
    out.push_str("\t\t<min>");
    exact(&mut out, ds.min.unwrap_or(f64::NAN));
    out.push_str("</min>\n\t\t<max>");
    exact(&mut out, ds.max.unwrap_or(f64::NAN));
    out.push_str("</max>\n");
    let last_ds = state.last_ds.as_deref().map_or("U".to_string(), escape);
    let _ = writeln!(out, "\t\t<last_ds>{last_ds}</last_ds>");
    out.push_str("\t\t<value>");
    exact(&mut out, state.pdp_val);
    let _ = writeln!(
        out,
        "</value>\n\t\t<unknown_sec> {} </unknown_sec>\n\t</ds>",
        state.pdp_unknown_sec
    );
    for (a, arch) in def.archives.iter().enumerate() {
        let width = arch.seconds_per_row(def.step) as i64;
        let latest = crate::alter::latest_slot(state.last_up, width as u64);
        let _ = writeln!(
            out,
            "\t<rra>\n\t\t<cf>{}</cf>\n\t\t<pdp_per_row>{}</pdp_per_row>",
            arch.cf.as_str(),
            arch.steps
        );
        out.push_str("\t\t<params><xff>");
        exact(&mut out, arch.xff);
        out.push_str("</xff></params>\n\t\t<cdp_prep><ds>\n\t\t\t<primary_value>");
        // rrdtool keeps the last row written here; it reads it only for
        // Holt-Winters archives, so the latest slot stands in for it.
        exact(&mut out, value(a, latest));
        out.push_str(
            "</primary_value>\n\t\t\t<secondary_value>NaN</secondary_value>\n\t\t\t<value>",
        );
        let cdp = &state.cdp[a];
        exact(&mut out, cdp.val);
        let _ = writeln!(
            out,
            "</value>\n\t\t\t<unknown_datapoints>{}</unknown_datapoints>\n\t\t</ds></cdp_prep>",
            cdp.unknown_pdps
        );
        out.push_str("\t\t<database>\n");
        for g in latest - arch.rows as i64 + 1..=latest {
            let _ = write!(out, "\t\t\t<!-- {} --> <row><v>", g.saturating_mul(width));
            exact(&mut out, value(a, g));
            out.push_str("</v></row>\n");
        }
        out.push_str("\t\t</database>\n\t</rra>\n");
    }
    out.push_str("</rrd>\n");
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::{update, Run};
    use crate::testrng::XorShift;

    const TWO_DS: &str = include_str!("../tests/data/two-ds.xml");
    const HOLT_WINTERS: &str = include_str!("../tests/data/holt-winters.xml");

    /// Slots of every archive, as a store would keep them.
    #[derive(Default)]
    struct Slots(HashMap<(usize, i64), f64>);

    impl Slots {
        fn apply(&mut self, runs: &[Run]) {
            for r in runs {
                for i in 0..r.count as i64 {
                    self.0.insert((r.archive, r.first_slot + i), r.value);
                }
            }
        }
        fn get(&self, a: usize, g: i64) -> f64 {
            self.0.get(&(a, g)).copied().unwrap_or(f64::NAN)
        }
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Equal, or a few units in the last place apart: what rrdtool's reader
    /// does to the doubles no text gives it (see `engine::rrd_text`).
    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        same(a, b) || (a - b).abs() <= tolerance * a.abs().max(b.abs())
    }

    #[test]
    fn reads_a_dump_of_two_data_sources() {
        let d = read(TWO_DS, &Options::default()).unwrap();
        assert!(d.skipped.is_empty());
        assert_eq!(d.series.len(), 2);
        let a = &d.series[0];
        assert_eq!(a.suffix.as_deref(), Some("a"));
        assert_eq!(a.def.step, 10);
        assert_eq!(a.def.ds.kind, DsKind::Counter);
        assert_eq!(a.def.ds.min, Some(0.0));
        assert_eq!(a.def.ds.max, None);
        assert_eq!(a.def.archives.len(), 2);
        assert_eq!(a.def.archives[1].cf, Cf::Max);
        assert_eq!(a.def.archives[1].steps, 3);
        assert_eq!(a.def.archives[1].xff, 0.3);
        assert_eq!(a.state.last_up, 1_700_000_033_000_000);
        assert_eq!(a.state.last_ds.as_deref(), Some("100"));
        assert_eq!(a.state.pdp_unknown_sec, 3);
        assert_eq!(a.state.cdp[1].val, f64::NEG_INFINITY);
        assert_eq!(a.state.cdp[1].unknown_pdps, 2);
        let b = &d.series[1];
        assert_eq!(b.suffix.as_deref(), Some("b"));
        assert_eq!(b.state.pdp_val, 7.5);
        assert_eq!(b.state.cdp[1].val, 3.5);
        // The AVERAGE window ends at slot 1700000030 / 10.
        assert_eq!(b.latest(0), 170_000_003);
        assert_eq!(b.rows[0][2..], [3.0, 3.5, 2.5]);
        assert_eq!(b.value(0, 170_000_002), 3.5);
        assert!(b.value(0, 170_000_004).is_nan());
    }

    #[test]
    fn refuses_or_skips_what_pg_rrd_has_not() {
        let e = read(HOLT_WINTERS, &Options::default()).unwrap_err();
        assert!(matches!(e, RrdError::Unsupported { .. }), "{e}");
        assert!(
            e.to_string().contains("archive 2 of the dump is HWPREDICT"),
            "{e}"
        );
        let compute = TWO_DS.replace("<type> GAUGE </type>", "<type> COMPUTE </type>");
        let e = read(&compute, &Options::default()).unwrap_err();
        assert!(
            e.to_string()
                .contains("data source \"b\" of the dump is COMPUTE"),
            "{e}"
        );
        let d = read(
            HOLT_WINTERS,
            &Options {
                skip_unsupported: true,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(d.series.len(), 1);
        // One data source kept of two: still named after it.
        assert_eq!(d.series[0].suffix.as_deref(), Some("a"));
        assert_eq!(d.series[0].def.archives.len(), 1);
        assert!(
            d.skipped.iter().any(|s| s.contains("HWPREDICT")),
            "{:?}",
            d.skipped
        );
        assert!(
            d.skipped.iter().any(|s| s.contains("\"c\"")),
            "{:?}",
            d.skipped
        );
        let only_hw = TWO_DS.replace("<cf>AVERAGE</cf>", "<cf>HWPREDICT</cf>");
        let e = read(&only_hw, &Options::default()).unwrap_err();
        assert!(
            e.to_string().contains("archive 1 of the dump is HWPREDICT"),
            "{e}"
        );
    }

    #[test]
    fn bad_dumps_name_the_bad_part() {
        let cases = [
            ("", "no <rrd>"),
            ("<rrd>", "ends inside <rrd>"),
            ("<rrd></rrx>", "closes <rrd>"),
            ("<rrd a=\"1\"></rrd>", "not an element"),
            (
                "<!DOCTYPE rrd [<!ENTITY x \"y\">]><rrd></rrd>",
                "internal subset",
            ),
            ("<rrd></rrd>", "no <step>"),
        ];
        for (xml, want) in cases {
            let e = read(xml, &Options::default()).unwrap_err();
            assert!(e.to_string().contains(want), "{xml}: {e}");
        }
        let edits = [
            (
                "<step>10</step>",
                "<step>ten</step>",
                "<step> \"ten\" is not a count",
            ),
            ("<step>10</step>", "<step>0</step>", "step 0"),
            (
                "<xff>3.0000000000e-01</xff>",
                "<xff>1.5</xff>",
                "not in [0, 1)",
            ),
            (
                "<type> GAUGE </type>",
                "<type> GAUGUE </type>",
                "unknown type \"GAUGUE\"",
            ),
            (
                "<v>2.5000000000e+00</v></row>",
                "</row>",
                "a <row> of 1 values for 2",
            ),
            (
                "<unknown_datapoints>2</unknown_datapoints>",
                "",
                "without <value> or <unknown_datapoints>",
            ),
            (
                "<lastupdate>1700000033</lastupdate>",
                "<lastupdate>99999999999999999</lastupdate>",
                "out of range",
            ),
            (
                "<v>3.0000000000e+00</v>",
                "<v>3,0</v>",
                "<v> \"3,0\" is not a number",
            ),
            (
                "<version>0003</version>",
                "<version>0009</version>",
                "version",
            ),
        ];
        for (from, to, want) in edits {
            assert!(TWO_DS.contains(from), "{from}");
            let e = read(&TWO_DS.replacen(from, to, 1), &Options::default()).unwrap_err();
            assert!(e.to_string().contains(want), "{to}: {e}");
        }
    }

    fn random_def(rng: &mut XorShift) -> Definition {
        let kinds = DsKind::ALL;
        let step = [1, 5, 10, 60][rng.below(4) as usize];
        let archives = (0..1 + rng.below(3))
            .map(|_| Archive {
                cf: Cf::ALL[rng.below(4) as usize],
                xff: [0.0, 0.3, 0.5, 0.99][rng.below(4) as usize],
                steps: 1 + rng.below(6),
                rows: 1 + rng.below(12),
            })
            .collect();
        Definition {
            lateness: 0,
            step,
            ds: DataSource {
                name: "ds0".into(),
                kind: kinds[rng.below(6) as usize],
                heartbeat: step * (1 + rng.below(4)),
                min: None,
                max: [None, Some(1000.0)][rng.below(2) as usize],
            },
            archives,
        }
    }

    fn random_value(rng: &mut XorShift, kind: DsKind) -> Option<String> {
        if rng.below(8) == 0 {
            return None;
        }
        Some(match kind {
            DsKind::Counter | DsKind::Absolute => rng.below(5000).to_string(),
            DsKind::Derive => (rng.below(5000) as i64 - 1000).to_string(),
            _ => format!("{}", (rng.below(100_000) as f64) / 7.0 - 2000.0),
        })
    }

    fn feed(
        def: &Definition,
        state: &mut State,
        slots: &mut Slots,
        t: &mut i64,
        rng: &mut XorShift,
        n: usize,
    ) {
        let mut runs = Vec::new();
        for _ in 0..n {
            *t += 1 + rng.below(def.step * 3) as i64;
            let v = random_value(rng, def.ds.kind);
            runs.clear();
            update(def, state, *t * 1_000_000, v.as_deref(), &mut runs).unwrap();
            slots.apply(&runs);
        }
    }

    /// A dump written and read back is the series itself, and continuing
    /// both gives the same rows and state.
    #[test]
    fn written_dumps_read_back_and_continue_the_same() {
        let mut rng = XorShift(0x5eed_0d0b);
        let (mut values, mut off) = (0, 0);
        for case in 0..300 {
            let def = random_def(&mut rng);
            let start = 1_700_000_000i64;
            let mut state = State::new(&def, start * 1_000_000);
            let mut slots = Slots::default();
            let mut t = start;
            let n = rng.below(60) as usize;
            feed(&def, &mut state, &mut slots, &mut t, &mut rng, n);
            let xml = write(&def, &state, |a, g| slots.get(a, g));
            let dump =
                read(&xml, &Options::default()).unwrap_or_else(|e| panic!("{case}: {e}\n{xml}"));
            assert_eq!(dump.series.len(), 1);
            let im = &dump.series[0];
            assert_eq!(im.suffix, None);
            assert_eq!(im.def, def, "{case}");
            let mut st = im.state.clone();
            assert_eq!(st.last_up, state.last_up);
            assert_eq!(st.last_ds, state.last_ds);
            assert!(close(st.pdp_val, state.pdp_val, 1e-15));
            for (x, y) in st.cdp.iter().zip(&state.cdp) {
                assert!(
                    close(x.val, y.val, 1e-15) && x.unknown_pdps == y.unknown_pdps,
                    "{case}"
                );
            }
            let mut theirs = Slots::default();
            for a in 0..def.archives.len() {
                for g in im.latest(a) - def.archives[a].rows as i64 + 1..=im.latest(a) {
                    let (x, y) = (im.value(a, g), slots.get(a, g));
                    assert!(close(x, y, 1e-15), "{case} a{a} g{g}");
                    values += 1;
                    if !same(x, y) {
                        off += 1;
                    }
                    theirs.0.insert((a, g), im.value(a, g));
                }
            }
            let mut rng2 = XorShift(rng.next_u64() | 1);
            let mut rng3 = XorShift(rng2.0);
            let mut t2 = t;
            feed(&def, &mut state, &mut slots, &mut t, &mut rng2, 30);
            feed(&def, &mut st, &mut theirs, &mut t2, &mut rng3, 30);
            assert_eq!(st.last_up, state.last_up);
            for a in 0..def.archives.len() {
                let latest = im.latest(a).max(crate::alter::latest_slot(
                    state.last_up,
                    def.archives[a].seconds_per_row(def.step),
                ));
                for g in latest - def.archives[a].rows as i64 + 1..=latest {
                    assert!(
                        close(theirs.get(a, g), slots.get(a, g), 1e-12),
                        "{case} after: a{a} g{g}"
                    );
                }
            }
        }
        // Nearly every value comes back to the bit.
        assert!(values > 3000 && off * 20 < values, "{off} of {values} off");
    }

    /// Truncated, mutated and random texts give an error or a series,
    /// never a panic.
    #[test]
    fn fuzzed_dumps_never_panic() {
        let mut rng = XorShift(0xf022);
        let seeds = [TWO_DS, HOLT_WINTERS];
        let mut errors = 0;
        for seed in seeds {
            for cut in (0..seed.len()).step_by(7) {
                if read(&seed[..seed.floor_char_boundary(cut)], &Options::default()).is_err() {
                    errors += 1;
                }
            }
        }
        let pieces = [
            "<",
            ">",
            "</",
            "/>",
            "<!--",
            "-->",
            "&",
            "&#x110000;",
            "&amp;",
            "<rrd>",
            "</rrd>",
            "<row>",
            "</row>",
            "<v>",
            "</v>",
            "NaN",
            "-inf",
            "4294967296",
            "18446744073709551616",
            "<ds>",
            "</ds>",
            "<rra>",
            "</rra>",
            "1e308",
            "<database>",
            "\u{0}",
            "é",
            "<![CDATA[",
        ];
        for i in 0..4000 {
            let seed = seeds[i % 2];
            let mut bytes: Vec<u8> = seed.as_bytes().to_vec();
            for _ in 0..1 + rng.below(6) {
                let at = rng.below(bytes.len() as u64 + 1) as usize;
                match rng.below(4) {
                    0 if at < bytes.len() => bytes[at] = rng.below(128) as u8,
                    1 if at < bytes.len() => {
                        let n = (rng.below(40) as usize).min(bytes.len() - at);
                        bytes.drain(at..at + n);
                    }
                    _ => {
                        let p = pieces[rng.below(pieces.len() as u64) as usize];
                        bytes.splice(at..at, p.bytes());
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            match read(&text, &Options::default()) {
                Ok(d) => d.series.iter().for_each(|s| s.check().unwrap()),
                Err(e) => {
                    errors += 1;
                    assert!(
                        matches!(
                            e,
                            RrdError::BadFile { .. }
                                | RrdError::Unsupported { .. }
                                | RrdError::BadParameter { .. }
                                | RrdError::TimeRange { .. }
                        ),
                        "{e:?}"
                    );
                }
            }
        }
        assert!(errors > 3000, "{errors}");
    }
}
