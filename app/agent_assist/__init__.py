"""Agent Assist: a private, offline copilot for contact-center agents.

The engine packages (``domain``, ``audio``, ``stt``, ``store``, ``pipeline``,
``models``) import no Qt; only ``ui`` may.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
