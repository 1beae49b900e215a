"""The console: a Telegram Mini App the bot serves itself, for what a chat does badly (an edge, like bot.tg)."""
