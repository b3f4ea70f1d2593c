//! `rrd.update`: feed one input to a series.

use pgrx::prelude::*;
use pgrx::spi::Spi;

use crate::engine;
use crate::error::{Result, RrdError};
use crate::errors::OrRaise;
use crate::series::{required, unix_us};
use crate::storage;
use crate::time;

/// Records `v` at time `t`. NULL or NaN is unknown. Times must increase.
#[pg_extern(name = "update")]
fn update_float(name: Option<&str>, t: Option<TimestampWithTimeZone>, v: Option<f64>) {
    let text = v.filter(|x| !x.is_nan()).map(float_text);
    update_inner(name, t, text).or_raise()
}

/// Records `v` at time `t`, exactly: counters near 2^64 need all their
/// digits, which a double does not carry.
#[pg_extern(name = "update")]
fn update_numeric(name: Option<&str>, t: Option<TimestampWithTimeZone>, v: Option<AnyNumeric>) {
    let text = v.map(|n| n.to_string()).filter(|s| s != "NaN");
    update_inner(name, t, text).or_raise()
}

/// The text rrdtool would get for a double: the shortest decimal that reads
/// back as the same double, never in exponent form, so that integral values
/// stay valid counter input.
pub fn float_text(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v}")
    }
}

/// Applies one update with the series' state row locked.
pub fn update_inner(
    name: Option<&str>,
    t: Option<TimestampWithTimeZone>,
    value: Option<String>,
) -> Result<()> {
    let name = required(name, "series name")?;
    let t = unix_us(required(t, "time")?, "time")?;
    Spi::connect_mut(|client| {
        let series = storage::load(client, name, true)?;
        let mut state = series.state.clone();
        let mut runs = Vec::new();
        engine::update(&series.def, &mut state, t, value.as_deref(), &mut runs).map_err(
            |e| match e {
                RrdError::OutOfOrder { .. } => RrdError::OutOfOrder {
                    series: name.to_string(),
                    time: time::format(t),
                    last: time::format(series.state.last_up),
                },
                RrdError::BadValue { msg } => RrdError::BadValue {
                    msg: format!("series \"{name}\" at {}: {msg}", time::format(t)),
                },
                other => other,
            },
        )?;
        storage::apply_runs(client, &series, &runs);
        storage::save_state(client, series.id, &state);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::float_text;

    #[test]
    fn float_text_round_trips_without_exponent() {
        assert_eq!(float_text(0.0), "0");
        assert_eq!(float_text(-0.0), "0");
        assert_eq!(float_text(42.0), "42");
        assert_eq!(float_text(1e20), "100000000000000000000");
        assert_eq!(float_text(0.1), "0.1");
        for v in [1.0 / 3.0, 1e-300, 123456.789e10, f64::MAX] {
            assert_eq!(float_text(v).parse::<f64>().ok(), Some(v));
        }
    }
}
