"""The web console (a Telegram Mini App, and a page for desktop browsers), served by the
bot's own aiohttp server: `server` (routes), `auth` (initData and the session cookie),
`texts` (its words), `static/` (the page, shipped in the package)."""
