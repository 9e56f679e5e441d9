"""The offline demo: a working day at an office, played through the real bot on the sandbox."""
