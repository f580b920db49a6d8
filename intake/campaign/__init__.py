"""The campaign and who takes part in it: the campaign file (offers, fields, deadlines,
working days), the council register, the reminder contacts, what has been received as
plain records, and the plain-data views replies are made from. Pure: files and rows in,
data out; no I/O beyond reading the shipped configuration."""
