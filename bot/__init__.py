"""The Slack channel: a Bolt app (bot.bolt_app) started by bot.runner.start_slack, which keeps
what arrives through intake.service before it acknowledges it; the channel's reader
(bot.slack_reader), composer (bot.composer) and carrier (bot.posting), which intake.runtime.composition
registers with the core; Block Kit from templates/slack/."""
