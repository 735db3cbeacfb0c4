"""Delivery: the channel interface (channels.py), the loop over every channel and target (dispatch.py), the
exactly-once ledger (ledger.py), and one module per built-in channel (telegram.py, email.py)."""
