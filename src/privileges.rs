//! Who may do what (docs/privileges.md): the group roles `rrd_reader` and
//! `rrd_writer`, `sql/roles.sql`, loaded once every table exists.

use pgrx::prelude::*;

extension_sql_file!(
    "../sql/roles.sql",
    name = "roles",
    requires = ["schema", "journal_tables", "listener_tables", "points_view"]
);
