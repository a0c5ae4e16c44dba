"""Self-contained HTML reports of a run, comparison, calibration or forecast folder (``oncotwin report``)."""

from oncotwin.report.write import write_report

__all__ = ["write_report"]
