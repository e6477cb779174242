"""Packaging beyond what pyproject.toml can say: the SQL ships inside the wheel.

db/ stays at the repository's top level (db/migrations, db/functions/<stage>/, triggers/, views/);
in a wheel it is installed as the package data folder worker/sql/, where worker.db.migrate.db_dir()
finds it with importlib.resources. An editable install or a source checkout reads db/ in place.
"""

from setuptools import find_namespace_packages, find_packages, setup

SQL_PACKAGE = "worker.sql"

setup(
    packages=find_packages(include=["worker", "worker.*"])
    + [SQL_PACKAGE]
    + [f"{SQL_PACKAGE}.{sub}" for sub in find_namespace_packages(where="db")],
    package_dir={SQL_PACKAGE: "db"},
    package_data={SQL_PACKAGE: ["**/*.sql"]},
)
