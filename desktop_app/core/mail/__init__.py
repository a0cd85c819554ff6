"""Email: the SMTP server's settings, messages, their sending, and the outbox that keeps them.

Below the managers and above the reporting it attaches documents from: ``settings`` (the
server, sender and templates, rows of the clinic's settings; the password in the keychain),
``message`` (one email's bytes), ``smtp`` (handing messages to the server, each failure
classified) and ``outbox`` (every message kept whole with its status, sent and retried).
"""
