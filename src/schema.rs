//! The tables, their triggers and the cast the update path reads
//! definitions through: `sql/schema.sql`, loaded once the `rrd` type exists.

use pgrx::prelude::*;

extension_sql_file!("../sql/schema.sql", name = "schema", requires = [Rrd]);
