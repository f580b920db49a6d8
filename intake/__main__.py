"""`python -m intake` is `cib`."""
from intake.cli import main

main()
