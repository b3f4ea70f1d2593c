//! The Graphite listener (docs/graphite-listener.md): a background worker
//! that takes Graphite's plaintext protocol over TCP and writes the points
//! through the same path as `rrd.update(names[], t[], v[])`, in batches.
//!
//! One process, one thread: sockets are non-blocking and polled. While a
//! batch is written nothing is read, so a sender faster than the database
//! fills its TCP window and waits (back-pressure) instead of growing the
//! listener's memory: the listener holds at most one batch, a bounded read
//! buffer and one unfinished line per connection.
//!
//! Each batch is one transaction, committed before the next lines are
//! read. A batch that fails (a series dropped or created by someone else
//! in between) is rolled back whole, logged and counted, and the listener
//! goes on. Lines that do not parse are counted by reason and logged at
//! most every ten seconds.

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use pgrx::bgworkers::{BackgroundWorker, BackgroundWorkerBuilder, SignalWakeFlags};
use pgrx::pg_sys::panic::CaughtError;
use pgrx::pg_sys::PgTryBuilder;
use pgrx::prelude::*;
use pgrx::spi::Spi;
use pgrx::JsonB;

use rrd_core::batch::{Batch, OnBad, Value};
use rrd_core::error::{Result, RrdError};
use rrd_core::line::{self, Lines, Piece, Refusal};

use crate::guc;
use crate::storage;

extension_sql_file!(
    "../sql/listener.sql",
    name = "listener_tables",
    requires = ["schema"]
);

/// Bytes read from one connection per round, so that one busy sender does
/// not keep the others waiting.
const READ_PER_ROUND: usize = 256 * 1024;

/// Bytes of the shortest line that gives a point.
const MIN_LINE: usize = 6;

/// Seconds between two log lines about refused lines.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// Registers the listener when preloading with `pg_rrd.graphite_listen`
/// set; called from `_PG_init`.
pub fn register() {
    if guc::graphite_listen().is_empty() {
        return;
    }
    BackgroundWorkerBuilder::new("pg_rrd graphite listener")
        .set_type("pg_rrd graphite listener")
        .set_function("pg_rrd_graphite_main")
        .set_library("pg_rrd")
        .enable_spi_access()
        .set_restart_time(Some(Duration::from_secs(5)))
        .load();
}

/// One sender.
struct Conn {
    stream: TcpStream,
    peer: SocketAddr,
    lines: Lines,
    open: bool,
}

/// Counts not yet committed, by counter name.
#[derive(Default)]
struct Counts(HashMap<&'static str, i64>);

impl Counts {
    fn add(&mut self, name: &'static str, n: i64) {
        *self.0.entry(name).or_default() += n;
    }
    fn take(&mut self) -> Vec<(&'static str, i64)> {
        self.0.drain().filter(|(_, n)| *n != 0).collect()
    }
}

/// Refused lines since the last log line, with the first of them.
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    suppressed: u64,
}

impl RefusalLog {
    fn note(&mut self, peer: &SocketAddr, why: Refusal, text: &[u8]) {
        if self.last.is_some_and(|t| t.elapsed() < LOG_EVERY) {
            self.suppressed += 1;
            return;
        }
        let shown = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
        log!(
            "pg_rrd graphite listener: {} line from {peer}: \"{}\"{}",
            why.as_str(),
            shown.escape_debug(),
            if self.suppressed > 0 {
                format!(" ({} more refused since the last report)", self.suppressed)
            } else {
                String::new()
            }
        );
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

/// The points of a batch, in arrival order.
#[derive(Default)]
struct Pending {
    points: Vec<(String, i64, f64)>,
    since: Option<Instant>,
}

/// The listener's life: bind, then read, parse and commit until told to
/// stop.
#[pg_guard]
#[no_mangle]
pub extern "C-unwind" fn pg_rrd_graphite_main(_arg: pg_sys::Datum) {
    BackgroundWorker::attach_signal_handlers(SignalWakeFlags::SIGHUP | SignalWakeFlags::SIGTERM);
    let database = guc::flush_database();
    BackgroundWorker::connect_worker_to_spi(Some(&database), None);
    let address = guc::graphite_listen();
    let listener = match TcpListener::bind(address.as_str()) {
        Ok(l) => l,
        Err(e) => {
            // Restarted by the postmaster: the port may be free later.
            log!("pg_rrd graphite listener: cannot listen on \"{address}\": {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = listener.set_nonblocking(true) {
        log!("pg_rrd graphite listener: {e}");
        std::process::exit(1);
    }
    log!("pg_rrd graphite listener: listening on {address}, writing to database \"{database}\"");
    let mut conns: Vec<Conn> = Vec::new();
    let mut pending = Pending::default();
    let mut counts = Counts::default();
    let mut refusals = RefusalLog::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_counts = Instant::now();
    let mut alive_checked = Instant::now();
    let mut first = 0;
    loop {
        if BackgroundWorker::sigterm_received() {
            break;
        }
        if BackgroundWorker::sighup_received() {
            // SAFETY: reloads the configuration files, as any backend does on SIGHUP.
            unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
            if guc::flush_database() != database || guc::graphite_listen() != address {
                if !pending.points.is_empty() {
                    commit(&mut pending, &mut counts);
                }
                commit_counts(&mut counts);
                if guc::graphite_listen().is_empty() {
                    log!("pg_rrd graphite listener: pg_rrd.graphite_listen is empty; stopping");
                    // Exit code 0: the postmaster does not start it again.
                    std::process::exit(0);
                }
                log!("pg_rrd graphite listener: settings changed; restarting");
                std::process::exit(1);
            }
        }
        if alive_checked.elapsed() > Duration::from_secs(1) {
            // Returns at once; false when the postmaster is gone (or on SIGTERM).
            if !BackgroundWorker::wait_latch(Some(Duration::ZERO)) {
                break;
            }
            alive_checked = Instant::now();
        }
        let interval = Duration::from_millis(guc::GRAPHITE_COMMIT_INTERVAL.get() as u64);
        let wait = match pending.since {
            Some(t) => interval.saturating_sub(t.elapsed()),
            None => Duration::from_secs(1),
        };
        let ready = poll(&listener, &conns, wait);
        if ready.listener {
            accept(&listener, &mut conns, &mut counts);
        }
        let batch_max = guc::GRAPHITE_BATCH.get() as usize;
        let now_us = crate::update::clock_us().unwrap_or(0);
        // Each round starts where the last one stopped, so that when the
        // batch fills the senders behind are not the ones that always wait.
        let count = conns.len();
        for k in 0..count {
            let i = (first + k) % count;
            if !ready.conns.get(i).copied().unwrap_or(false) {
                continue;
            }
            let conn = &mut conns[i];
            read_conn(
                conn,
                &mut buf,
                batch_max,
                now_us,
                &mut pending,
                &mut counts,
                &mut refusals,
            );
            if pending.points.len() >= batch_max {
                first = i + 1;
                break;
            }
        }
        let before = conns.len();
        conns.retain(|c| c.open);
        if conns.len() != before {
            first = 0;
        }
        let due = pending.since.is_some_and(|t| t.elapsed() >= interval);
        if pending.points.len() >= batch_max || due {
            commit(&mut pending, &mut counts);
            last_counts = Instant::now();
        } else if !counts.0.is_empty()
            && last_counts.elapsed() >= interval.max(Duration::from_secs(1))
        {
            commit_counts(&mut counts);
            last_counts = Instant::now();
        }
    }
    if !pending.points.is_empty() {
        commit(&mut pending, &mut counts);
    }
    commit_counts(&mut counts);
}

/// Which sockets can be read.
struct Ready {
    listener: bool,
    conns: Vec<bool>,
}

fn poll(listener: &TcpListener, conns: &[Conn], wait: Duration) -> Ready {
    let mut fds: Vec<libc::pollfd> = std::iter::once(listener.as_raw_fd())
        .chain(conns.iter().map(|c| c.stream.as_raw_fd()))
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = wait.as_millis().min(1000) as libc::c_int;
    // SAFETY: `fds` is a valid array of its length for the call. A signal
    // ends the wait early (EINTR), and the loop looks at its flags.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n <= 0 {
        return Ready {
            listener: false,
            conns: vec![false; conns.len()],
        };
    }
    let readable =
        |f: &libc::pollfd| f.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
    Ready {
        listener: readable(&fds[0]),
        conns: fds[1..].iter().map(readable).collect(),
    }
}

fn accept(listener: &TcpListener, conns: &mut Vec<Conn>, counts: &mut Counts) {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                if conns.len() >= guc::GRAPHITE_MAX_CONNECTIONS.get() as usize {
                    counts.add("connections_refused", 1);
                    drop(stream);
                    continue;
                }
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                counts.add("connections_accepted", 1);
                conns.push(Conn {
                    stream,
                    peer,
                    lines: Lines::default(),
                    open: true,
                });
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                // Out of descriptors, say: try again next round.
                debug1!("pg_rrd graphite listener: accept: {e}");
                return;
            }
        }
    }
}

/// Reads what `conn` has, up to a round's share or until the batch is
/// full, and parses its lines into `pending`.
fn read_conn(
    conn: &mut Conn,
    buf: &mut [u8],
    batch_max: usize,
    now_us: i64,
    pending: &mut Pending,
    counts: &mut Counts,
    refusals: &mut RefusalLog,
) {
    let mut read = 0;
    while read < READ_PER_ROUND && pending.points.len() < batch_max {
        // No more bytes than can hold the lines the batch has room for (a
        // line is at least 6 bytes, "a 1 1\n"), so that a batch ends within
        // one line of its bound.
        let room = batch_max - pending.points.len();
        let want = room.saturating_mul(MIN_LINE).clamp(MIN_LINE, buf.len());
        match conn.stream.read(&mut buf[..want]) {
            Ok(0) => {
                conn.open = false;
                let peer = conn.peer;
                conn.lines
                    .finish(|p| take(p, &peer, now_us, pending, counts, refusals));
                return;
            }
            Ok(n) => {
                read += n;
                let peer = conn.peer;
                conn.lines.feed(&buf[..n], |p| {
                    take(p, &peer, now_us, pending, counts, refusals)
                });
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => {
                conn.open = false;
                return;
            }
        }
    }
}

/// One line: a point for the batch, or a refusal counted.
fn take(
    piece: Piece<'_>,
    peer: &SocketAddr,
    now_us: i64,
    pending: &mut Pending,
    counts: &mut Counts,
    refusals: &mut RefusalLog,
) {
    let text = match piece {
        Piece::TooLong => {
            counts.add(Refusal::TooLong.as_str(), 1);
            refusals.note(peer, Refusal::TooLong, b"");
            return;
        }
        Piece::Line(l) => l,
    };
    if text.iter().all(|b| b.is_ascii_whitespace()) {
        return;
    }
    match line::parse(text, now_us) {
        Ok(p) => {
            pending.points.push((p.path.to_string(), p.t_us, p.value));
            pending.since.get_or_insert_with(Instant::now);
        }
        Err(why) => {
            counts.add(why.as_str(), 1);
            refusals.note(peer, why, text);
        }
    }
}

/// Writes the batch and the counts in one transaction; on failure, rolls
/// it back, logs why and counts its lines as failed.
fn commit(pending: &mut Pending, counts: &mut Counts) {
    let points = std::mem::take(&mut pending.points);
    pending.since = None;
    let n = points.len() as i64;
    let mut counted = counts.take();
    let outcome = in_transaction(|| {
        let (accepted, created, refused, no_rule) = write_batch(&points)?;
        counted.extend([
            ("lines_accepted", accepted),
            ("series_created", created),
            ("refused_by_series", refused),
            ("dropped_no_rule", no_rule),
            ("batches", 1),
        ]);
        Spi::connect_mut(|client| storage::listener::add_counters(client, &counted));
        Ok(())
    });
    if let Err(msg) = outcome {
        log!("pg_rrd graphite listener: a batch of {n} lines failed and was rolled back: {msg}");
        for (name, v) in counted {
            if !matches!(
                name,
                "lines_accepted"
                    | "series_created"
                    | "refused_by_series"
                    | "dropped_no_rule"
                    | "batches"
            ) {
                counts.add(name, v);
            }
        }
        counts.add("lines_failed", n);
        commit_counts(counts);
    }
}

fn commit_counts(counts: &mut Counts) {
    let counted = counts.take();
    if counted.is_empty() {
        return;
    }
    if let Err(msg) = in_transaction(|| {
        Spi::connect_mut(|client| storage::listener::add_counters(client, &counted));
        Ok(())
    }) {
        log!("pg_rrd graphite listener: counters not saved: {msg}");
    }
}

/// Creates the series the batch needs and has rules for, then writes the
/// points. Returns (accepted, series created, refused by their series,
/// dropped for want of a rule).
fn write_batch(points: &[(String, i64, f64)]) -> Result<(i64, i64, i64, i64)> {
    let mut first: HashMap<&str, i64> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (path, t, _) in points {
        first
            .entry(path.as_str())
            .and_modify(|m| *m = (*m).min(*t))
            .or_insert_with(|| {
                order.push(path.as_str());
                *t
            });
    }
    let (known, rules) = Spi::connect_mut(|client| {
        if !storage::extension_installed(client) {
            return Err(RrdError::Unsupported {
                msg: "pg_rrd is not installed in this database (CREATE EXTENSION pg_rrd)".into(),
            });
        }
        let known = storage::listener::existing(client, &order);
        let missing: Vec<&str> = order
            .iter()
            .copied()
            .filter(|p| !known.contains(*p))
            .collect();
        let rules = if missing.is_empty() {
            Vec::new()
        } else {
            storage::listener::rules_for(client, &missing)
        };
        Ok((known, rules))
    })?;
    let mut writable: std::collections::HashSet<&str> = known.iter().map(String::as_str).collect();
    let mut created = 0;
    for (path, rule) in &rules {
        let Some(text) = rule else { continue };
        let def = rrd_core::def::parse(text)?;
        let Some((&key, &t)) = first.get_key_value(path.as_str()) else {
            continue;
        };
        // A second before the first point, so that the first point is taken.
        let start_us = (t.div_euclid(rrd_core::time::US) - 1).max(0) * rrd_core::time::US;
        let meta = JsonB(serde_json::json!({ "created_by": "pg_rrd graphite listener" }));
        crate::series::create_series(
            path,
            &def,
            start_us,
            storage::chunk::DEFAULT_CHUNK_WIDTH,
            Some(meta),
            None,
        )?;
        writable.insert(key);
        created += 1;
    }
    let mut batch = Batch::default();
    let mut no_rule = 0;
    for (path, t, v) in points {
        if writable.contains(path.as_str()) {
            let s = batch.series(path);
            batch.push(s, *t, Value::Float(*v));
        } else {
            no_rule += 1;
        }
    }
    let given = batch.points.len() as i64;
    let refused = crate::update::apply(&batch, OnBad::Skip)?;
    Ok((given - refused, created, refused, no_rule))
}

/// Runs `body` in a transaction of its own: committed if it returns Ok,
/// rolled back (whatever it wrote) if it returns an error or raises one.
fn in_transaction(body: impl FnOnce() -> Result<()>) -> std::result::Result<(), String> {
    // SAFETY: the worker is between transactions here; this is what
    // BackgroundWorker::transaction does, with a rollback on error.
    unsafe {
        pg_sys::SetCurrentStatementStartTimestamp();
        pg_sys::StartTransactionCommand();
        pg_sys::PushActiveSnapshot(pg_sys::GetTransactionSnapshot());
    }
    // Whatever the body changed in memory before an error is not used
    // again: its counts are merged back only on success.
    let out = PgTryBuilder::new(std::panic::AssertUnwindSafe(move || {
        body().map_err(|e| e.to_string())
    }))
    .catch_others(|e| {
        Err(match e {
            CaughtError::PostgresError(r) | CaughtError::ErrorReport(r) => r.message().to_string(),
            CaughtError::RustPanic { ereport, .. } => ereport.message().to_string(),
        })
    })
    .execute();
    // SAFETY: ends the transaction started above, either way.
    unsafe {
        match out {
            Ok(()) => {
                pg_sys::PopActiveSnapshot();
                pg_sys::CommitTransactionCommand();
            }
            Err(_) => pg_sys::AbortCurrentTransaction(),
        }
    }
    out
}
