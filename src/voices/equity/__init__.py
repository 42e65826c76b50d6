"""Equity dimensions, their code lists, the IMD lookup, and disclosure control.

Every area groups people the same way through this package, and every published table
goes through :func:`voices.equity.disclosure.disclose`.
"""

from voices.equity.dimensions import DIMENSIONS, Dimension, get_dimension
from voices.equity.disclosure import SUPPRESSED, DisclosedTable, disclose, disclose_counts

__all__ = ["DIMENSIONS", "Dimension", "get_dimension", "SUPPRESSED", "DisclosedTable",
           "disclose", "disclose_counts"]
