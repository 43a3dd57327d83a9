"""Traffic counts (issue 6): import and storage of the City of Munich's bicycle and detector counts.

Public API of the data part; the modelling part (calendar, imputation, back-tests) builds on it.
"""

from rathaus.traffic.formats import ParsedFile, Problem, TrafficFileError, parse
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
    "Problem",
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
