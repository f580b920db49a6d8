"""The Slack channel: a Bolt app (bot.app) started by bot.runner.start_slack, which keeps
what arrives through intake.service before it acknowledges it; the channel's reader
(bot.reading), composer (bot.composer) and carrier (bot.posting), which intake.app
registers with the core; Block Kit from templates/slack/."""
