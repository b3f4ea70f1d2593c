//! The rows of `rrd.series`: names, definitions, labels.

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use rrd_core::def::Definition;
use rrd_core::error::{Result, RrdError};

use super::run;
use crate::sqlstate::spi;

/// Whether a series is named `name`.
fn name_taken(client: &SpiClient<'_>, name: &str) -> bool {
    !run(
        client,
        "SELECT 1 FROM rrd.series WHERE name = $1",
        &[pg_sys::TEXTOID],
        &[name.into()],
        true,
    )
    .is_empty()
}

/// An error if a series is named `name`.
pub fn check_free(client: &SpiClient<'_>, name: &str) -> Result<()> {
    if name_taken(client, name) {
        Err(RrdError::SeriesExists {
            name: name.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Inserts the series row of a new series and returns its id.
pub fn insert_series(
    client: &SpiClient<'_>,
    name: &str,
    def: &Definition,
    width: u64,
    meta: Option<pgrx::JsonB>,
    tags: Option<pgrx::JsonB>,
) -> Result<i64> {
    use pg_sys::*;
    let table = run(
        client,
        "INSERT INTO rrd.series (name, def, chunk_width, meta, tags) \
         VALUES ($1, $2::rrd.rrd, $3, coalesce($4, '{}'), coalesce($5, '{}')) RETURNING id",
        &[TEXTOID, TEXTOID, INT4OID, JSONBOID, JSONBOID],
        &[
            name.into(),
            def.to_string().into(),
            (width as i32).into(),
            meta.into(),
            tags.into(),
        ],
        true,
    );
    table
        .into_iter()
        .next()
        .and_then(|row| spi(row.get::<i64>(1)))
        .ok_or_else(|| RrdError::Corrupt {
            msg: "no id returned".into(),
        })
}

/// Removes series `name` and every row it has, whatever its rows hold.
/// Its state row is locked before its series row, as every writer of the
/// series locks them.
pub fn delete_series(client: &SpiClient<'_>, name: &str) -> Result<()> {
    let locked = |sql: &'static str| {
        run(client, sql, &[pg_sys::TEXTOID], &[name.into()], true)
            .next()
            .and_then(|row| spi(row.get::<i64>(1)))
    };
    let id = locked(
        "SELECT s.id FROM rrd.series s JOIN rrd.state st ON st.series_id = s.id \
         WHERE s.name = $1 FOR NO KEY UPDATE OF st FOR KEY SHARE OF s",
    )
    // A series whose state row is missing can still be dropped.
    .or_else(|| locked("SELECT id FROM rrd.series WHERE name = $1 FOR UPDATE"))
    .ok_or_else(|| RrdError::UnknownSeries {
        name: name.to_string(),
    })?;
    // The trigger on rrd.series removes the state and chunk rows.
    run(
        client,
        "DELETE FROM rrd.series WHERE id = $1",
        &[pg_sys::INT8OID],
        &[id.into()],
        true,
    );
    Ok(())
}

/// Gives series `id` the name `name`.
pub fn rename_series(client: &SpiClient<'_>, id: i64, name: &str) {
    run(
        client,
        "UPDATE rrd.series SET name = $2 WHERE id = $1",
        &[pg_sys::INT8OID, pg_sys::TEXTOID],
        &[id.into(), name.into()],
        true,
    );
    super::names::forget();
}

/// The metadata and tags of series `id`.
pub fn labels(client: &SpiClient<'_>, id: i64) -> (Option<pgrx::JsonB>, Option<pgrx::JsonB>) {
    run(
        client,
        "SELECT meta, tags FROM rrd.series WHERE id = $1",
        &[pg_sys::INT8OID],
        &[id.into()],
        false,
    )
    .next()
    .map_or((None, None), |row| (spi(row.get(1)), spi(row.get(2))))
}

/// A JSON column of `rrd.series` that [`set_label`] writes.
#[derive(Debug, Clone, Copy)]
pub enum Label {
    Meta,
    Tags,
}

/// Sets the metadata or the tags of series `name`; false if there is no
/// such series.
pub fn set_label(client: &SpiClient<'_>, name: &str, label: Label, value: pgrx::JsonB) -> bool {
    let sql = match label {
        Label::Meta => "UPDATE rrd.series SET meta = $2 WHERE name = $1 RETURNING id",
        Label::Tags => "UPDATE rrd.series SET tags = $2 WHERE name = $1 RETURNING id",
    };
    run(
        client,
        sql,
        &[pg_sys::TEXTOID, pg_sys::JSONBOID],
        &[name.into(), value.into()],
        true,
    )
    .next()
    .is_some()
}

/// Names of the series matching `regex` (a POSIX regular expression),
/// restricted to those starting with `prefix` through the prefix index
/// when there is one.
pub fn names_matching(client: &SpiClient<'_>, prefix: &str, regex: &str) -> Vec<String> {
    let table = if prefix.is_empty() {
        run(
            client,
            "SELECT name FROM rrd.series WHERE name ~ $1",
            &[pg_sys::TEXTOID],
            &[regex.into()],
            false,
        )
    } else {
        run(
            client,
            "SELECT name FROM rrd.series WHERE name ^@ $1 AND name ~ $2",
            &[pg_sys::TEXTOID, pg_sys::TEXTOID],
            &[prefix.into(), regex.into()],
            false,
        )
    };
    table.filter_map(|row| spi(row.get::<String>(1))).collect()
}

/// Names of the series whose tags contain `tags`, in byte order.
pub fn names_tagged(client: &SpiClient<'_>, tags: pgrx::JsonB) -> Vec<String> {
    run(
        client,
        "SELECT name FROM rrd.series WHERE tags @> $1 ORDER BY name COLLATE \"C\"",
        &[pg_sys::JSONBOID],
        &[tags.into()],
        false,
    )
    .filter_map(|row| spi(row.get::<String>(1)))
    .collect()
}
