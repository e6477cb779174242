"""The exchange seam: one adapter interface, VALR through our own client (worker/valr), Binance, Kraken and
Coinbase through ccxt. docs/exchanges.md says what each part owns."""
