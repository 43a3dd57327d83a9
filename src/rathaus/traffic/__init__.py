"""Traffic counts (issue 6): import and storage of the City of Munich's bicycle and detector counts,
plausibility checks, gap filling with its masked-gap backtest, and plots.

The public API of the data part is exported here; the models live in ``calendar``, ``daily``, ``impute``,
``backtest``, ``checks`` and ``plots``.
"""

from rathaus.traffic.formats import ParsedFile, TrafficFileError, parse
from rathaus.traffic.store import (
    ImportReport,
    export,
    export_frame,
    get_import,
    get_station,
    import_file,
    import_stations,
    list_stations,
    load_series,
    save_flags,
    save_imputed,
)

__all__ = [
    "ImportReport",
    "ParsedFile",
    "TrafficFileError",
    "export",
    "export_frame",
    "get_import",
    "get_station",
    "import_file",
    "import_stations",
    "list_stations",
    "load_series",
    "parse",
    "save_flags",
    "save_imputed",
]
