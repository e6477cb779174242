"""The tests' helper library (not tests): sql.py for the SQL lifecycle tests over one connection with a
simulated clock, inprocess.py for daemon parts run in-process over the real database and simulator.
tests/harness.py holds what end-to-end tests use (the simulator's admin API, worker processes, Orders)."""
