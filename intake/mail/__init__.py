"""The email channel: the SMTP handler (server), its readers (reading, with extract and
the modules it uses; attached documents opened by the worker processes of pool and
sandbox, within limits), its composer (compose) and its carrier (sender), which
intake.runtime.composition registers with the core."""
