"""`python -m intake` is `cib`."""
from intake.cli import app

app(prog_name="cib")
