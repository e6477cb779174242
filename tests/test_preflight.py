"""Issue 21 item 13: which connection failures at start are waited for (the database is not ready)
and which are a configuration error (exit 2), from the messages libpq gives."""

from __future__ import annotations

import psycopg
import pytest

from worker.db.preflight import not_ready

SERVER = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: '


@pytest.mark.parametrize("message, waited", [
    (SERVER + "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?", True),
    (SERVER + "FATAL:  the database system is starting up", True),
    (SERVER + "FATAL:  the database system is shutting down", True),
    (SERVER + "FATAL:  the database system is in recovery mode", True),
    (SERVER + "FATAL:  sorry, too many clients already", True),
    (SERVER + 'FATAL:  too many connections for role "valr_monitor_worker"', False),  # the role's CONNECTION LIMIT
    ("connection failed: connection to server at \"10.0.0.9\", port 5432 failed: timeout expired", True),
    ("failed to resolve host 'db.internal': [Errno -3] Temporary failure in name resolution", True),
    (SERVER + 'FATAL:  password authentication failed for user "valr"', False),
    (SERVER + 'FATAL:  role "nobody" does not exist', False),
    (SERVER + 'FATAL:  database "no_such_db" does not exist', False),
    (SERVER + 'FATAL:  no pg_hba.conf entry for host "10.0.0.2", user "valr", database "valr", no encryption', False),
])
def test_a_database_not_ready_is_waited_for_and_a_refusal_is_not(message, waited):
    assert not_ready(psycopg.OperationalError(message)) is waited
