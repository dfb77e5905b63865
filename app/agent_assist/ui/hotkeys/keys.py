"""Qt key-sequence text ("Ctrl+Alt+S") as the codes each OS grabs keys with.

Why pure: the settings store Qt's portable names, but X11 grabs a keysym with a
modifier mask and Windows registers a virtual-key code with ``MOD_*`` flags.
Keeping the translation free of Qt, Xlib and ctypes lets it be unit tested on
any machine, and lets a bad name fail with a sentence the Settings page shows.

Thread rules: none (pure functions over frozen values).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "KeyCombo",
    "KeyParseError",
    "parse_keys",
    "windows_hotkey",
    "x11_grab",
]

# Qt's order when it writes a sequence.
MODIFIERS = ("Ctrl", "Alt", "Shift", "Meta")

# X11 modifier masks (X.h). Meta is the Super/Windows key, which Qt maps to Mod4 on xcb.
X_SHIFT, X_LOCK, X_CONTROL, X_MOD1, X_MOD4 = 1, 2, 4, 8, 64
_X_MODS = {"Ctrl": X_CONTROL, "Alt": X_MOD1, "Shift": X_SHIFT, "Meta": X_MOD4}

# RegisterHotKey's MOD_* flags (winuser.h).
MOD_ALT, MOD_CONTROL, MOD_SHIFT, MOD_WIN = 0x1, 0x2, 0x4, 0x8
_WIN_MODS = {"Ctrl": MOD_CONTROL, "Alt": MOD_ALT, "Shift": MOD_SHIFT, "Meta": MOD_WIN}

# Qt's portable names of keys that are not one character: (X keysym, Windows VK or None).
_NAMED: dict[str, tuple[int, int | None]] = {
    "Esc": (0xFF1B, 0x1B),
    "Tab": (0xFF09, 0x09),
    "Backtab": (0xFE20, None),  # ISO_Left_Tab; Windows has no such key (it is Shift+Tab)
    "Backspace": (0xFF08, 0x08),
    "Return": (0xFF0D, 0x0D),
    "Enter": (0xFF8D, 0x0D),  # the keypad's Enter
    "Ins": (0xFF63, 0x2D),
    "Del": (0xFFFF, 0x2E),
    "Pause": (0xFF13, 0x13),
    "Print": (0xFF61, 0x2C),
    "SysReq": (0xFF15, None),
    "Home": (0xFF50, 0x24),
    "End": (0xFF57, 0x23),
    "Left": (0xFF51, 0x25),
    "Up": (0xFF52, 0x26),
    "Right": (0xFF53, 0x27),
    "Down": (0xFF54, 0x28),
    "PgUp": (0xFF55, 0x21),
    "PgDown": (0xFF56, 0x22),
    "CapsLock": (0xFFE5, 0x14),
    "NumLock": (0xFF7F, 0x90),
    "ScrollLock": (0xFF14, 0x91),
    "Menu": (0xFF67, 0x5D),
    "Help": (0xFF6A, 0x2F),
    "Space": (0x20, 0x20),
}
_ALIASES = {
    "Escape": "Esc",
    "Insert": "Ins",
    "Delete": "Del",
    "PgDn": "PgDown",
    "PageUp": "PgUp",
    "PageDown": "PgDown",
}
_BY_LOWER = {name.lower(): name for name in [*_NAMED, *_ALIASES]}

# Windows VKs of punctuation on a US layout (VK_OEM_*); RegisterHotKey wants keys, not characters.
_WIN_OEM = {
    ";": 0xBA,
    "=": 0xBB,
    ",": 0xBC,
    "-": 0xBD,
    ".": 0xBE,
    "/": 0xBF,
    "`": 0xC0,
    "[": 0xDB,
    "\\": 0xDC,
    "]": 0xDD,
    "'": 0xDE,
    "+": 0xBB,
}

_F_KEYS_X = 35  # X11 has F1..F35
_F_KEYS_WIN = 24  # Windows has F1..F24


class KeyParseError(ValueError):
    """A shortcut text that names no key we can grab; ``str()`` is a sentence for the user."""


@dataclass(frozen=True)
class KeyCombo:
    """One key with its modifiers, e.g. ``KeyCombo("S", frozenset({"Ctrl", "Alt"}))``.

    ``key`` is Qt's canonical name: an upper-case letter, a digit, one
    punctuation character, ``F1``..``F35`` or a name from Qt's portable text
    (``PgUp``, ``Space``…).
    """

    key: str
    modifiers: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return "+".join([*(m for m in MODIFIERS if m in self.modifiers), self.key])


def _function_key(name: str) -> int | None:
    if len(name) > 1 and name[0] in "Ff" and name[1:].isdigit():
        number = int(name[1:])
        if 1 <= number <= _F_KEYS_X:
            return number
    return None


def _canonical_key(name: str) -> str:
    if len(name) == 1:
        if not name.isprintable() or name.isspace():
            raise KeyParseError(f"'{name}' is not a key")
        return name.upper()
    if (number := _function_key(name)) is not None:
        return f"F{number}"
    found = _BY_LOWER.get(name.lower())
    if found is None:
        raise KeyParseError(f"'{name}' is not a key name Agent Assist knows")
    return _ALIASES.get(found, found)


def parse_keys(text: str) -> KeyCombo:
    """``"Ctrl+Alt+S"`` (Qt's portable text, any case) as a ``KeyCombo``; ``KeyParseError`` if not one key."""
    text = text.strip()
    if not text:
        raise KeyParseError("no key is set")
    if "," in text[:-1]:
        raise KeyParseError(f"'{text}' is a sequence of several keys; a global shortcut is one key")
    # "Ctrl++" ends with the plus key itself.
    parts = [*text[:-2].split("+"), "+"] if text.endswith("++") else text.split("+")
    *mods, key = (p.strip() for p in parts)
    if not key:
        raise KeyParseError(f"'{text}' has no key after its modifiers")
    modifiers: set[str] = set()
    for mod in mods:
        canonical = next((m for m in MODIFIERS if m.lower() == mod.lower()), None)
        if canonical is None:
            raise KeyParseError(f"'{mod}' in '{text}' is not Ctrl, Alt, Shift or Meta")
        modifiers.add(canonical)
    return KeyCombo(_canonical_key(key), frozenset(modifiers))


def x11_grab(combo: KeyCombo) -> tuple[int, int]:
    """``(keysym, modifier mask)`` for ``XGrabKey``; letters use their lower-case keysym.

    The caller turns the keysym into this keyboard's keycode, and adds the
    Lock/NumLock variants (the mask here has neither).
    """
    mask = 0
    for mod in combo.modifiers:
        mask |= _X_MODS[mod]
    key = combo.key
    if (number := _function_key(key)) is not None:
        return 0xFFBE + number - 1, mask  # XK_F1 .. XK_F35 are consecutive
    if key in _NAMED:
        return _NAMED[key][0], mask
    char = key.lower()
    code = ord(char)
    # Latin-1 keysyms are the character's code; any other character is 0x01000000 + its code.
    keysym = code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code
    return keysym, mask


def windows_hotkey(combo: KeyCombo) -> tuple[int, int]:
    """``(virtual-key code, MOD_* flags)`` for ``RegisterHotKey``; ``KeyParseError`` if Windows has no such key."""
    flags = 0
    for mod in combo.modifiers:
        flags |= _WIN_MODS[mod]
    key = combo.key
    if (number := _function_key(key)) is not None:
        if number > _F_KEYS_WIN:
            raise KeyParseError(f"Windows has no {key} key")
        return 0x70 + number - 1, flags  # VK_F1 .. VK_F24
    if key in _NAMED:
        vk = _NAMED[key][1]
        if vk is None:
            raise KeyParseError(f"Windows has no {key} key to register")
        return vk, flags
    if "A" <= key <= "Z" or "0" <= key <= "9":
        return ord(key), flags  # VK codes of letters and digits are their ASCII codes
    if key in _WIN_OEM:
        return _WIN_OEM[key], flags
    raise KeyParseError(f"'{key}' is not a key Windows can register as a global shortcut")
