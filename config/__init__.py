"""The shipped configuration (the campaign, the council register, the contacts, the Slack
manifest, the settings example), installed as `intake.config` so that the wheel carries it."""
