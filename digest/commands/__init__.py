"""One module per command (run, backfill, demo, send, check, status, site, schedule): the only places that
take the state lock and order the work; cli.py parses arguments and calls one function here."""
