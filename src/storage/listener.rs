//! The Graphite listener's tables (`sql/listener.sql`): which paths name
//! series, the rules for new ones, and the counters.

use std::collections::HashSet;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use super::run;
use crate::sqlstate::spi;

/// Those of `names` that name a series.
pub fn existing(client: &SpiClient<'_>, names: &[&str]) -> HashSet<String> {
    let table = run(
        client,
        // A join, not `= ANY`: a batch names thousands of series, and `= ANY`
        // compares every row of rrd.series with every one of them.
        "SELECT s.name FROM pg_catalog.unnest($1::text[]) AS n(name) \
         JOIN rrd.series s ON s.name OPERATOR(pg_catalog.=) n.name",
        &[pg_sys::TEXTARRAYOID],
        &[names.to_vec().into()],
        true,
    );
    table.filter_map(|row| spi(row.get::<String>(1))).collect()
}

/// For each of `names`, the definition (as text) of the rule that creates
/// its series, if one matches.
pub fn rules_for(client: &SpiClient<'_>, names: &[&str]) -> Vec<(String, Option<String>)> {
    let table = run(
        client,
        "SELECT n, (SELECT r.definition::text FROM rrd.graphite_schemas r \
                    WHERE n OPERATOR(pg_catalog.~) r.pattern \
                    ORDER BY r.priority DESC, r.pattern LIMIT 1) \
         FROM pg_catalog.unnest($1::text[]) AS n",
        &[pg_sys::TEXTARRAYOID],
        &[names.to_vec().into()],
        true,
    );
    table
        .filter_map(|row| Some((spi(row.get::<String>(1))?, spi(row.get::<String>(2)))))
        .collect()
}

/// Adds to the named counters.
pub fn add_counters(client: &SpiClient<'_>, counts: &[(&str, i64)]) {
    let counts: Vec<&(&str, i64)> = counts.iter().filter(|(_, n)| *n != 0).collect();
    if counts.is_empty() {
        return;
    }
    let names: Vec<&str> = counts.iter().map(|(c, _)| *c).collect();
    let values: Vec<i64> = counts.iter().map(|(_, n)| *n).collect();
    run(
        client,
        "INSERT INTO rrd.listener_counters AS c (counter, value) \
         SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::int8[])) \
         ON CONFLICT (counter) DO UPDATE \
         SET value = c.value OPERATOR(pg_catalog.+) excluded.value, updated = pg_catalog.now()",
        &[pg_sys::TEXTARRAYOID, pg_sys::INT8ARRAYOID],
        &[names.into(), values.into()],
        true,
    );
}
