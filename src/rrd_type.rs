//! The `rrd` type: a series definition in RRDtool's create syntax, and its
//! accessors.

use std::ffi::CStr;

use pgrx::prelude::*;
use pgrx::{InOutFuncs, StringInfo};
use serde::{Deserialize, Serialize};

use crate::sqlstate::{raise, OrRaise};
use rrd_core::def::{self, Definition};
use rrd_core::error::RrdError;

/// A series definition. pgrx stores it as the CBOR of the definition
/// (`serde(transparent)`), the bytes `Definition::to_stored` gives and
/// `Definition::from_stored` reads; it is small and read once per call.
#[derive(PostgresType, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[inoutfuncs]
#[serde(transparent)]
pub struct Rrd {
    pub def: Definition,
}

impl InOutFuncs for Rrd {
    fn input(input: &CStr) -> Self {
        let text = match input.to_str() {
            Ok(t) => t,
            Err(_) => raise(RrdError::syntax("definition is not valid UTF-8")),
        };
        Rrd {
            def: def::parse(text).or_raise(),
        }
    }

    fn output(&self, buffer: &mut StringInfo) {
        buffer.push_str(&self.def.to_string());
    }
}

extension_sql!(
    "COMMENT ON TYPE rrd IS 'definition of a round-robin series, in RRDtool create syntax';",
    name = "rrd_type_comment",
    requires = [Rrd]
);

/// Base step of a definition, in seconds.
#[pg_extern(immutable, parallel_safe)]
fn step(def: Rrd) -> i64 {
    def.def.step as i64
}

/// The data source of a definition.
// pgrx reads the SQL signature from the written-out type; an alias hides it.
#[allow(clippy::type_complexity)]
#[pg_extern(immutable, parallel_safe)]
fn data_source(
    def: Rrd,
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(kind, String),
        name!(heartbeat, i64),
        name!(min, Option<f64>),
        name!(max, Option<f64>),
    ),
> {
    let ds = def.def.ds;
    TableIterator::once((
        ds.name,
        ds.kind.as_str().to_string(),
        ds.heartbeat as i64,
        ds.min,
        ds.max,
    ))
}

/// The archives of a definition, numbered from 0 in definition order.
// pgrx reads the SQL signature from the written-out type; an alias hides it.
#[allow(clippy::type_complexity)]
#[pg_extern(immutable, parallel_safe)]
fn archives(
    def: Rrd,
) -> TableIterator<
    'static,
    (
        name!(archive, i32),
        name!(cf, String),
        name!(xff, f64),
        name!(steps, i64),
        name!(rows, i64),
        name!(resolution, Interval),
        name!(span, Interval),
    ),
> {
    let step = def.def.step;
    let rows: Vec<_> = def
        .def
        .archives
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let res = a.seconds_per_row(step);
            (
                i as i32,
                a.cf.as_str().to_string(),
                a.xff,
                a.steps as i64,
                a.rows as i64,
                Interval::from_micros((res as i64).saturating_mul(1_000_000)),
                Interval::from_micros(
                    (res.saturating_mul(a.rows) as i64).saturating_mul(1_000_000),
                ),
            )
        })
        .collect();
    TableIterator::new(rows)
}

#[cfg(feature = "pg_test")]
#[pg_schema]
mod tests {
    use pgrx::prelude::*;

    /// What PostgreSQL stores for an `rrd` value is the core's stored form,
    /// the bytes the update path decodes.
    #[pg_test]
    fn stored_bytes_are_the_cores() {
        let text = "--step 10 DS:load:GAUGE:20:0:U RRA:AVERAGE:0.5:1:8640 RRA:MAX:0.5:6:10080";
        let bytes = Spi::get_one::<Vec<u8>>(&format!("SELECT '{text}'::rrd.rrd::bytea"))
            .unwrap()
            .unwrap();
        assert_eq!(bytes, rrd_core::def::parse(text).unwrap().to_stored());
    }
}
