//! The checks of rrd-core's fuzz targets; `src/main.rs` runs them under
//! AFL++, `crates/rrd-core/tests/corpus.rs` replays the corpus through them.
pub mod checks;
