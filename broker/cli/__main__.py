"""`python -m broker.cli` runs the command line like the `order-supervisor` script."""

from broker.cli import main

main()
