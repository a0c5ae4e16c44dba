"""The case file: the one place where user input is interpreted (schema + loader)."""

from oncotwin.case.load import load_case, read_case
from oncotwin.case.schema import Case

__all__ = ["Case", "load_case", "read_case"]
