"""Exchange doubles: local stand-ins for Binance, Kraken and Coinbase that speak each exchange's REST and
WebSocket protocol closely enough for unmodified ccxt (pointed at 127.0.0.1 through its `urls`) to drive
them. `core.py` holds the exchange-neutral state; one module per exchange speaks its protocol."""
