"""UI strings of governance: the portfolio's and the reports' (each keeps its own module; keys do not overlap)."""

from rathaus.governance.portfolio.strings import STRINGS as PORTFOLIO
from rathaus.governance.reports.strings import STRINGS as REPORTS

STRINGS: dict[str, dict[str, str]] = {lang: {**PORTFOLIO.get(lang, {}), **REPORTS.get(lang, {})}
                                      for lang in sorted(set(PORTFOLIO) | set(REPORTS))}
