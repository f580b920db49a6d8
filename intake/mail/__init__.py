"""The email channel: the SMTP handler (server), its reader (reading, with extract and
the modules it uses), its composer (compose) and its carrier (sender), which intake.app
registers with the core."""
