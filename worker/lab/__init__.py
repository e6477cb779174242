"""The lab: the VALR simulator, the demo, benchmarks, the chaos soak, an embedded PostgreSQL.

Nothing in production imports from here; it needs the `lab` extra (aiohttp, pglast).
"""
