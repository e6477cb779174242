"""The internal SQL functions the hot paths call per row are inlined by the planner: no SET clause (a
function with one is never inlined, and PL/pgSQL callers then parse and plan its body again on every
call), no SECURITY DEFINER. EXPLAIN VERBOSE shows the call gone, replaced by its body."""

from __future__ import annotations

import pytest

from tests.support.sql import rows

CALLS = {
    "order_executes_at_most": "SELECT lth_pvr.order_executes_at_most(o) FROM lth_pvr.exchange_orders o",
    "order_executed_qty": "SELECT lth_pvr.order_executed_qty(o) FROM lth_pvr.exchange_orders o",
    "valr_executed_qty": "SELECT lth_pvr.valr_executed_qty(o.raw) FROM lth_pvr.exchange_orders o",
    "fallback_defaults": "SELECT d.* FROM lth_pvr.exchange_orders o, lth_pvr.fallback_defaults(o) d",
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_function_is_inlined(postgresql, name):
    plan = "\n".join(r["QUERY PLAN"] for r in rows(postgresql, "EXPLAIN (VERBOSE, COSTS OFF) " + CALLS[name]))
    assert f"{name}(" not in plan and f"Function Scan on {name}" not in plan, plan
