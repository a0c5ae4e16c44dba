"""Self-contained HTML reports of a run folder or a comparison folder (``oncotwin report``)."""

from oncotwin.report.html import write_report

__all__ = ["write_report"]
