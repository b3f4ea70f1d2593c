//! What an importer hands the extension: series ready to store, each a
//! definition, the state of its last update and every ring slot's value.
//! The readers of other tools' files (`rrdxml` for `rrdtool dump`,
//! `whisper` for `.wsp`) produce it; `docs/import.md` describes the
//! mapping of each.

use crate::alter::latest_slot;
use crate::def::Definition;
use crate::engine::State;
use crate::error::{Result, RrdError};

/// A function a long read calls every [`Tick::EVERY`] elements, so that
/// its caller can stop it: the extension checks for a cancel there. The
/// default does nothing.
#[derive(Clone, Copy)]
pub struct Tick(pub fn());

impl Tick {
    /// Elements between two calls.
    pub const EVERY: u64 = 1 << 14;

    /// Calls the function when `n` (a count of elements read) ends a run
    /// of [`Tick::EVERY`].
    pub fn at(&self, n: u64) {
        if n.is_multiple_of(Self::EVERY) {
            (self.0)()
        }
    }
}

impl Default for Tick {
    fn default() -> Tick {
        Tick(|| {})
    }
}

impl std::fmt::Debug for Tick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tick")
    }
}

/// Options that differ only in their ticks read alike.
impl PartialEq for Tick {
    fn eq(&self, _: &Tick) -> bool {
        true
    }
}

impl Eq for Tick {}

/// One series read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// Appended to the name the user gives, after a dot (`name.suffix`);
    /// `None` keeps the name as given. An `rrdtool dump` of several data
    /// sources gives each its data source's name.
    pub suffix: Option<String>,
    /// The definition, valid.
    pub def: Definition,
    /// The state after the file's last update.
    pub state: State,
    /// Per archive, in definition order: the values of its window, oldest
    /// first, exactly `rows` of them, the last being the archive's latest
    /// slot at `state.last_up` ([`Imported::latest`]). NaN is unknown.
    pub rows: Vec<Vec<f64>>,
}

impl Imported {
    /// Latest slot of archive `a` (see [`crate::ring`]): the one whose
    /// value is last in `rows[a]`.
    pub fn latest(&self, a: usize) -> i64 {
        latest_slot(
            self.state.last_up,
            self.def.archives[a].seconds_per_row(self.def.step),
        )
    }

    /// Value of slot `g` of archive `a`; NaN outside the window.
    pub fn value(&self, a: usize, g: i64) -> f64 {
        let rows = &self.rows[a];
        let first = self.latest(a) - rows.len() as i64 + 1;
        if g < first || g > self.latest(a) {
            return f64::NAN;
        }
        rows[(g - first) as usize]
    }

    /// Checks what a reader built: a valid definition, a state that fits
    /// it, and one full window per archive. Errors are `Corrupt`, since a
    /// reader that passes a file's checks must not build anything else.
    pub fn check(&self) -> Result<()> {
        self.def.validate()?;
        let corrupt = |msg: String| Err(RrdError::Corrupt { msg });
        if self.state.cdp.len() != self.def.archives.len() {
            return corrupt(format!(
                "{} archive states for {} archives",
                self.state.cdp.len(),
                self.def.archives.len()
            ));
        }
        if self.rows.len() != self.def.archives.len() {
            return corrupt(format!(
                "{} archive windows for {} archives",
                self.rows.len(),
                self.def.archives.len()
            ));
        }
        for (a, (rows, arch)) in self.rows.iter().zip(&self.def.archives).enumerate() {
            if rows.len() as u64 != arch.rows {
                return corrupt(format!(
                    "archive {} has {} values for {} rows",
                    a + 1,
                    rows.len(),
                    arch.rows
                ));
            }
        }
        if self.state.last_up < 0 {
            return corrupt("last update before 1970".into());
        }
        Ok(())
    }
}
