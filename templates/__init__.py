"""Every reply, notice, reminder, digest and workspace page, as Jinja templates, installed
as `intake.templates` so that the wheel carries them."""
