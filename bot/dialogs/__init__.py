"""Multi-step conversations, one module each, run by `bot.dialogs.engine`."""
