"""The Telegram-facing side of faultdesk: handlers, dialogs and runtimes."""
