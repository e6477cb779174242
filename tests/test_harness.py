"""The harness itself: each test gets its own migrated database on the pg_cron-enabled cluster."""


def test_database_is_migrated_and_fresh(postgresql):
    tables = postgresql.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'lth_pvr' AND table_type = 'BASE TABLE'"
    ).fetchone()[0]
    assert tables >= 10
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.exchange_orders").fetchone()[0] == 0
    postgresql.execute("INSERT INTO lth_pvr.exchange_accounts (subaccount_id, label) VALUES ('', 'primary')")
    postgresql.commit()


def test_previous_test_left_nothing_behind(postgresql):
    assert postgresql.execute("SELECT count(*) FROM lth_pvr.exchange_accounts").fetchone()[0] == 0


def test_cluster_preloads_pg_cron(postgresql, embedded_pg):
    assert "pg_cron" in postgresql.execute("SHOW shared_preload_libraries").fetchone()[0]
    assert postgresql.execute("SHOW cron.database_name").fetchone()[0] == embedded_pg.dbname
