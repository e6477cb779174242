"""Database URLs: where they come from, and how they are shown (never with the password)."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo


def redact(url: str) -> str:
    """The URL with any password replaced, for logs and error messages."""
    try:
        params = conninfo_to_dict(url)
    except Exception:  # an unparsable URL may still hold a secret: show nothing of it
        return "<unparsable database URL>"
    if "password" in params:
        params["password"] = "***"
    if url.startswith(("postgresql://", "postgres://")):
        user = params.get("user", "")
        auth = f"{user}:***@" if "password" in params else (f"{user}@" if user else "")
        host = params.get("host", "")
        port = f":{params['port']}" if params.get("port") else ""
        return f"postgresql://{auth}{host}{port}/{params.get('dbname', '')}"
    return make_conninfo(**params)
