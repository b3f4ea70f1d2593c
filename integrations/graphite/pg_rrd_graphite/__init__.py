"""A graphite-web 1.1 storage finder for pg_rrd (docs/graphite.md).

    STORAGE_FINDERS = ('pg_rrd_graphite.PgRrdFinder',)
"""

__version__ = "0.2.0"


def __getattr__(name):
    # graphite-web's modules need Django's settings: import them only when the
    # finder itself is asked for, so that pg_rrd_graphite.db stays usable alone.
    if name in ("PgRrdFinder", "PgRrdReader"):
        from . import finder
        return getattr(finder, name)
    raise AttributeError(name)
