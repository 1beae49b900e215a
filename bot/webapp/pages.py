"""The console's pages: HTML from Jinja2 templates, in the viewer's language, and the errors a viewer can cause.

The layout of each page is `prompts/console/<name>.html`, written once; its words are the macros of
`prompts/<lang>/console_words.html`, one file per language (the way `buttons.j2` holds button labels), so
that no text lives in Python or in the page's script.
"""

from __future__ import annotations

from typing import Any

from bot.render import LANGUAGES, Renderer


class ConsoleError(Exception):
    """A request the console refuses: the HTTP status, and the words macro (with its values) that says why."""

    def __init__(self, status: int, words: str, **values: Any) -> None:
        super().__init__(words)
        self.status = status
        self.words = words
        self.values = values


class Pages:
    """Renders the console's pages and fragments over the one Jinja2 environment."""

    def __init__(self, render: Renderer) -> None:
        self.render = render
        self._words: dict[str, Any] = {}

    def language(self, language: str) -> str:
        """Gives a language the console speaks: the one asked for, else English."""
        return language if language in LANGUAGES else "en"

    def words(self, language: str) -> Any:
        """Gives the words of a language: the module of its console_words.html, made once."""
        language = self.language(language)
        if language not in self._words:
            self._words[language] = self.render.env.get_template(f"{language}/console_words.html").make_module(vars={"lang": language})
        return self._words[language]

    def page(self, language: str, name: str, /, **values: Any) -> str:
        """Gives a page or fragment (`prompts/console/<name>.html`) in a language."""
        language = self.language(language)
        template = self.render.env.get_template(f"console/{name}.html")
        return template.render(lang=language, t=self.words(language), **values)

    def error(self, language: str, failure: ConsoleError) -> str:
        """Gives the fragment that tells a viewer why their request was refused."""
        return self.page(language, "error", status=failure.status, words=failure.words, values=failure.values)

    def shell(self, default_language: str) -> str:
        """Gives the page every console address opens: the frame the script fills, with what it must say
        before it knows who is asking (in both languages)."""
        return self.page(
            default_language, "shell", languages=[(code, self.words(code)) for code in LANGUAGES],
        )
