"""What the service tells people, planned: the team's digest, reminders before each
deadline, exports (JSON, CSV, XLSX) and Appendix A, the list of regional leads. Pure:
facts in, plans and bytes out; `intake/jobs/` sends what is planned here."""
