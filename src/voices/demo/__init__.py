"""Synthetic but realistic demo data for every area (`voices demo`).

Deterministic from a seed and idempotent: running it twice adds nothing the second time.
Each area adds its own data through ``voices.<area>.demo.load_demo(session, context)``,
called after the core records exist. No real person's data is used anywhere.
"""

from voices.demo.core import DEMO_PASSWORD, DemoContext, load

__all__ = ["DEMO_PASSWORD", "DemoContext", "load"]
