"""The involve demo: a biased community of about 600, opportunities, log and library."""

from __future__ import annotations

from sqlalchemy import func, select

from voices.core.models import Account
from voices.demo import load
from voices.involve import community as community_logic
from voices.involve import service as involve
from voices.involve.models import (
    Interest,
    LibraryEntry,
    LogEntry,
    Notification,
    Opportunity,
    Panel,
    Partner,
    PopulationShares,
)


def _counts(session) -> dict:
    return {table.__name__: session.scalar(select(func.count()).select_from(table))
            for table in (Partner, Opportunity, Interest, LogEntry, LibraryEntry,
                          PopulationShares, Account, Panel, Notification)}


def test_the_demo_community_is_biased_like_real_ones_and_loading_twice_adds_nothing(database):
    with database.sessionmaker() as session:
        context = load(session, areas=("involve",))
        first = _counts(session)
        assert first["Partner"] == 601 and first["Opportunity"] == 4
        assert first["Interest"] > 100 and first["LogEntry"] > 50 and first["LibraryEntry"] == 4
        me = session.scalar(select(Partner).where(
            Partner.account_id == context.accounts["partner"].id))
        assert me is not None and me.interests
        # younger and more deprived people are under-represented, as the demo intends
        population, stored = involve.population_for(session, context.icb)
        assert stored is not None and "not real data" in population.source
        counts = involve.community_counts(session, None)
        exact = {d.dimension: d for d in community_logic.makeup(counts, population,
                                                                disclosed=False)}
        under = {r.code for r in exact["age_band"].under_represented}
        assert {"18-24", "25-34"} <= under and "65-74" not in under
        assert "1" in {r.code for r in exact["imd_quintile"].under_represented}
        assert "5" not in {r.code for r in exact["imd_quintile"].under_represented}
        # a Check and Challenge group of 12, chosen by LEXIMIN from those interested
        panel = session.scalars(select(Panel)).one()
        assert panel.status == "drawn" and len(panel.selected) == 12
        assert panel.result["summary"]["algorithm"] == "leximin"
        assert abs(sum(panel.result["probabilities"].values()) - 12) < 1e-6
    with database.sessionmaker() as session:
        load(session, areas=("involve",))
        assert _counts(session) == first
