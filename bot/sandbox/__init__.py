"""Not the product: a loopback fake Telegram Bot API and the demo that drives the real bot through it.

`bot.sandbox.fakeapi` answers the Bot API methods the bot uses, on 127.0.0.1, for the tests, the
benchmarks and the demo (`python -m bot.sandbox.fakeapi --port 8081` serves it on its own);
`bot.sandbox.demo` is `pitstop demo`. Nothing in the product imports this package; only the CLI's
`demo` command does.
"""
