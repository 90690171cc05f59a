"""A bot module loaded by its dotted name in the plugin tests."""

from linda.bot import Bot, MessageContext, filters


def setup(bot: Bot) -> None:
    @bot.on_message(filters.text_equals("hello"))
    async def hello(ctx: MessageContext) -> None:
        await ctx.send_text("hello from a module")
