"""The JSON shapes the Bot API exchanges, as the sandbox handles them."""

from typing import Any

JsonDict = dict[str, Any]  # a JSON object: a Message, an Update, a call's parameters
