"""The Telegram-facing side of faultdesk: handlers, dialogs, runtimes and the sandbox."""
