"""Every user setting, declared once: key, type, default, limits, words for the UI.

Why one table (qutebrowser's ``configdata`` idea): the settings file, the IT
policy, ``agent-assist config`` and the Settings page are all generated from
it, so a new setting is one entry here and appears everywhere, validated the
same way. ``Setting.check`` is the one validator (file, policy, CLI and UI);
``Setting.parse`` turns command-line text into a value.

Thread rules: immutable data and pure functions; safe from any thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = [
    "SCHEMA",
    "SECTIONS",
    "Kind",
    "Setting",
    "Value",
    "get_setting",
    "settings_in",
]

Kind = Literal["str", "int", "bool", "float", "choice"]
Value = str | int | bool | float
# How the Settings page edits a value (the value itself is still ``kind``):
Editor = Literal["auto", "device", "speech_model", "llm_model", "language", "url", "shortcut"]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


@dataclass(frozen=True)
class Setting:
    """One setting. ``choices``: (value, label) pairs for ``kind="choice"``;
    ``minimum``/``maximum`` for numbers; ``lockable``: IT policy may force it."""

    key: str
    kind: Kind
    default: Value
    label: str
    description: str
    section: str
    choices: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    editor: Editor = "auto"
    lockable: bool = True
    suffix: str = ""  # unit shown after a number: " days"
    validate: Callable[[Any], str | None] | None = None  # extra rule: a problem, or None

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.choices)

    def describe_allowed(self) -> str:
        """What values are allowed, in words (for error fixes and ``config list``)."""
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choice_values)
        if self.kind in ("int", "float"):
            noun = "a whole number" if self.kind == "int" else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{noun} from {self.minimum:g} to {self.maximum:g}"
            return noun
        return "text" + (" (http://HOST:PORT, or empty)" if self.editor == "url" else "")

    def check(self, value: Any) -> Value:
        """``value`` if it is valid for this setting (ints accepted for floats), else ``ValueError``.

        The message says what is wrong; ``describe_allowed`` says what would be right.
        """
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{value!r} is not true or false")
            return value
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{value!r} is not a number")
            if kind == "int" and isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(f"{value!r} is not a whole number")
                value = int(value)
            number: int | float = value if kind == "int" else float(value)
            if (self.minimum is not None and number < self.minimum) or (
                self.maximum is not None and number > self.maximum
            ):
                raise ValueError(f"{number:g} is out of range")
            return number
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not text")
        if kind == "choice" and value not in self.choice_values:
            raise ValueError(f"'{value}' is not a choice")
        if self.validate is not None and (problem := self.validate(value)):
            raise ValueError(problem)
        return value

    def parse(self, text: str) -> Value:
        """A value from command-line text (``true``/``off``, ``30``, ``dark``), checked."""
        raw = text.strip()
        if self.kind == "bool":
            word = raw.lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise ValueError(f"'{text}' is not true or false")
        if self.kind in ("int", "float"):
            try:
                number = int(raw) if self.kind == "int" else float(raw)
            except ValueError:
                raise ValueError(
                    f"'{text}' is not {'a whole number' if self.kind == 'int' else 'a number'}"
                ) from None
            return self.check(number)
        return self.check(text)

    def format(self, value: Any) -> str:
        """A value as ``config list`` prints it (and ``parse`` reads it back)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)


def _url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"'{value}' is not an http(s) URL"
    return None


_KEY_NAME = re.compile(r"^$|^((Ctrl|Alt|Shift|Meta)\+)*[^+\s]+$", re.IGNORECASE)


def _shortcut(value: str) -> str | None:
    if _KEY_NAME.match(value.strip()):
        return None
    return f"'{value}' is not a key combination"


# Languages Whisper's multilingual models handle well; "auto" detects per call.
_LANGUAGES = (
    ("auto", "Detect automatically"),
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("pl", "Polish"),
    ("tr", "Turkish"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
)

# Page order of the Settings view; each setting names one of these.
SECTIONS = (
    "Audio",
    "Speech model",
    "Assistant",
    "Knowledge",
    "Privacy",
    "Appearance",
    "Shortcuts",
    "Supervisor",
)

SCHEMA: tuple[Setting, ...] = (
    # --- Audio
    Setting("audio.agent_device", "str", "", "Your microphone",
            "The headset microphone (any unique part of its name); empty = the system default input.",
            "Audio", editor="device"),
    Setting("audio.customer_device", "str", "", "Customer side",
            "Where the customer's voice is captured: the softphone output's monitor "
            "(Linux '.monitor' source) or 'loopback:OUTPUT'; empty = one device for both.",
            "Audio", editor="device"),
    # --- Speech model
    Setting("speech.model", "str", "tiny.en", "Speech model",
            "The on-device transcription model: tiny.en is fast (English only); base is slower, "
            "more accurate and multilingual.", "Speech model", editor="speech_model"),
    Setting("speech.language", "choice", "en", "Language",
            "The language of the call; 'auto' detects it (needs a multilingual model such as base).",
            "Speech model", choices=_LANGUAGES, editor="language"),
    # --- Assistant
    Setting("llm.enabled", "bool", True, "Reply suggestions and summaries",
            "Draft replies under knowledge cards and summarise each call with a language model.",
            "Assistant"),
    Setting("llm.backend", "choice", "local", "Runs on",
            "Where the language model runs: on this computer, or on a shared server of your company.",
            "Assistant", choices=(("local", "This computer"), ("server", "Company server"))),
    Setting("llm.server_url", "str", "", "Server address",
            "The OpenAI-compatible server (llama.cpp server, vLLM, Ollama) as http://HOST:PORT; "
            "used when 'Runs on' is the company server.", "Assistant", editor="url", validate=_url),
    Setting("llm.model", "str", "smollm2-135m-instruct", "Language model",
            "A model id from `agent-assist models list`, a chat .gguf file, or the model name "
            "on the server.", "Assistant", editor="llm_model"),
    # --- Knowledge
    Setting("knowledge.enabled", "bool", True, "Knowledge cards",
            "Search the installed knowledge packs as the customer speaks and show matching articles.",
            "Knowledge"),
    # --- Privacy
    Setting("privacy.store_audio", "bool", False, "Keep call audio",
            "Save each call's audio with its transcript (off: only the text is kept).", "Privacy"),
    Setting("privacy.retention_days", "int", 30, "Keep calls for",
            "Delete calls from the history after this many days; 0 keeps them until deleted by hand.",
            "Privacy", minimum=0, maximum=3650, suffix=" days"),
    # --- Appearance
    Setting("appearance.theme", "choice", "system", "Theme",
            "Light or dark colours, or follow the system.", "Appearance",
            choices=(("system", "Follow the system"), ("light", "Light"), ("dark", "Dark"))),
    Setting("window.always_on_top", "bool", False, "Always on top",
            "Keep the sidebar above other windows (the softphone, the CRM).", "Appearance"),
    Setting("window.compact", "bool", False, "Compact mode",
            "Smaller type and spacing, to fit more in a narrow sidebar.", "Appearance"),
    Setting("window.snap_edge", "choice", "right", "Dock to",
            "The screen edge the sidebar snaps to.", "Appearance",
            choices=(("right", "Right edge"), ("left", "Left edge"), ("none", "Floating"))),
    Setting("window.start_minimized", "bool", False, "Start in the tray",
            "Start minimised to the system tray; a call or the shortcut brings the sidebar back.",
            "Appearance"),
    # --- Shortcuts (Qt's portable key names, e.g. Ctrl+Alt+S; empty = none)
    Setting("shortcuts.start_stop_call", "str", "Ctrl+Alt+S", "Start / stop call",
            "Start listening to a call, or end it.", "Shortcuts", editor="shortcut", validate=_shortcut),
    Setting("shortcuts.copy_suggestion", "str", "Ctrl+Alt+C", "Copy suggestion",
            "Copy the current reply suggestion to the clipboard.", "Shortcuts", editor="shortcut",
            validate=_shortcut),
    Setting("shortcuts.toggle_sidebar", "str", "Ctrl+Alt+A", "Show / hide sidebar",
            "Show the sidebar, or hide it to the tray.", "Shortcuts", editor="shortcut",
            validate=_shortcut),
    # --- Supervisor
    Setting("supervisor.enabled", "bool", True, "Supervisor area",
            "Show the supervisor view (team calls and health); IT can hide it.", "Supervisor"),
)  # fmt: skip

_BY_KEY = {s.key: s for s in SCHEMA}


def get_setting(key: str) -> Setting | None:
    """The declaration of ``key``, or None for a key the app does not know."""
    return _BY_KEY.get(key)


def settings_in(section: str) -> list[Setting]:
    return [s for s in SCHEMA if s.section == section]
