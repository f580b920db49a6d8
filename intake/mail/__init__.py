"""The email channel: reading inbound mail, the SMTP handler and the outbound sender."""
