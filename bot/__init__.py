"""The Slack channel: a Bolt app (bot.app) started by bot.runner.start_slack, rendering
from templates/slack/ and handing everything to intake.service."""
