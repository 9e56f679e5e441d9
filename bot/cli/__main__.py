"""`python -m bot.cli`: the `faultdesk` command line."""

from bot.cli import main

main()
