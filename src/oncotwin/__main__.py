"""``python -m oncotwin``."""

from oncotwin.cli import entry_point

entry_point()
