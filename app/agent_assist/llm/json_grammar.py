"""JSON-schema grammars for llama.cpp: built strict, and sampled with a cheap check first.

``schema_grammar``: llama-cpp-python 0.3's schema converter lets a JSON string
hold raw control characters (its ``char`` rule is ``[^"\\]``), which JSON
forbids: SmolLM2 used that to run a value over several lines ("...\nText:\n1.
Thank you..."), and 3 of 12 summaries were then no JSON at all. The grammar
built here refuses them, as the JSON grammar llama.cpp ships does.

Sampling. Why: llama-cpp-python puts the JSON-schema grammar first in its sampler chain,
so every generated token runs the grammar over the whole vocabulary (49,152
tokens for SmolLM2): measured ~12-15 ms a token on one core, more than the
model itself (~8-10 ms), which made the end-of-call summary (~150-250 JSON
tokens) grammar-bound. llama.cpp's own tools sample the usual chain first and
check the chosen token against the grammar, and sample again with the grammar
over every candidate only when it breaks it. Here the check covers the whole
top-k (40 candidates after the repeat penalty) rather than one token, since
SmolLM2's first choice broke the JSON grammar for about half the tokens
(mostly whitespace): measured on the sample call's summary, the full pass is
then needed for few tokens, and a summary took ~2.6 s instead of ~4-6 s. The
answer still obeys the grammar, token by token. Above temperature 0 the draw
differs slightly from llama-cpp-python's: the top-k is taken before the
grammar, not after, so when some of the 40 best tokens are refused the draw
is among fewer (the allowed ones, renormalised), and when all are refused the
full pass takes over. At temperature 0 it is the same best allowed token.

``GrammarCheckedSampler`` does that; ``install`` makes a ``llama_cpp.Llama``
use it for requests with a grammar (others keep llama-cpp-python's sampler).
It relies on two llama-cpp-python 0.3 internals (``Llama._init_sampler``
returning an object with ``sample(ctx, idx)``, and ``LlamaGrammar._grammar``/
``_root``); ``install`` checks for them and leaves the model alone otherwise.

Thread rules: a sampler belongs to the one generation that created it (the
backend's lock serialises generations); nothing here is shared.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import json
import logging
import weakref
from typing import Any

import numpy as np

__all__ = ["GrammarCheckedSampler", "GrammarDeadEnd", "install", "schema_grammar"]

log = logging.getLogger(__name__)

_LOOSE_CHAR = 'char ::= [^"\\\\]'  # the GBNF text: any character but a quote or backslash
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F]'  # ...and no control character


def schema_grammar(schema: dict[str, Any]) -> Any:
    """A ``llama_cpp.LlamaGrammar`` for ``schema`` whose strings hold no control characters."""
    return _grammar(json.dumps(schema))  # key order kept: it is the answer's field order


@functools.lru_cache(maxsize=8)
def _grammar(schema_json: str) -> Any:
    from llama_cpp.llama_grammar import LlamaGrammar, json_schema_to_gbnf

    text = json_schema_to_gbnf(schema_json)
    lines = text.splitlines()
    loose = [i for i, line in enumerate(lines) if line.startswith(_LOOSE_CHAR)]
    for i in loose:
        lines[i] = _STRICT_CHAR + lines[i][len(_LOOSE_CHAR) :]
    strict = "\n".join(lines)
    if len(loose) != 1:
        log.warning("unexpected JSON grammar from llama-cpp-python: strings stay as it built them")
    return LlamaGrammar.from_string(strict, verbose=False)


_TOKEN_DATA = np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")])
_GREEDY_CANDIDATES = 40  # greedy picks the best allowed one: the best 40 nearly always hold it


class GrammarDeadEnd(RuntimeError):
    """No token the grammar allows (it cannot happen with a sound grammar); the
    backend ends that answer early, so the caller sees an invalid answer."""


class GrammarCheckedSampler:
    """Samples with ``llm``'s usual chain, the grammar applied to its top-k only
    (to the whole vocabulary only when none of them is allowed).

    Only the chain llama-cpp-python builds without mirostat is reproduced
    (penalties, top-k, typical, top-p, min-p, temperature, seeded draw; greedy
    at temperature 0): ``install`` does not use it for other settings.
    """

    def __init__(self, llm: Any, grammar: Any, **params: Any) -> None:
        import llama_cpp

        internals: Any = importlib.import_module("llama_cpp._internals")  # untyped
        self._lib = llama_cpp
        self._n_vocab = int(llm.n_vocab())
        # Two halves of llama-cpp-python's chain: the grammar goes between them.
        head, tail = internals.LlamaSampler(), internals.LlamaSampler()
        head.add_penalties(
            n_vocab=self._n_vocab,
            penalty_last_n=llm.last_n_tokens_size,
            penalty_repeat=params.get("repeat_penalty", 1.0),
            penalty_freq=params.get("frequency_penalty", 0.0),
            penalty_present=params.get("presence_penalty", 0.0),
        )
        temp = params.get("temp", 0.8)
        if temp == 0.0:
            head.add_top_k(_GREEDY_CANDIDATES)
            tail.add_greedy()
        else:
            head.add_top_k(params.get("top_k", 40))
            tail.add_typical(params.get("typical_p", 1.0), 1)
            tail.add_top_p(params.get("top_p", 0.95), 1)
            tail.add_min_p(params.get("min_p", 0.05), 1)
            tail.add_temp(temp)
            tail.add_dist(llm._seed)
        self._head: Any = head
        self._tail: Any = tail
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            head.close()
            tail.close()
            raise ValueError("llama.cpp refused the grammar")
        self._ids = np.arange(self._n_vocab, dtype="<i4")
        self._buffer = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
        self._one = np.zeros(1, dtype=_TOKEN_DATA)
        self.checked = 0  # tokens sampled
        self.resampled = 0  # of which no top candidate kept to the grammar: drawn from all

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """The next token (accepted by the chain and the grammar), like ``llama_sampler_sample``.

        The top candidates (top-k after the penalties) are checked against the
        grammar; only if none passes is the grammar applied to the whole
        vocabulary, then the top-k taken from what it allows.
        """
        lib = self._lib
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        self.checked += 1
        token = self._draw(logits, grammar_first=False)
        if token is None or not self._allowed(token):
            self.resampled += 1
            token = self._draw(logits, grammar_first=True)
            if token is None or not self._allowed(token):
                # Never accept a token the grammar refuses: llama.cpp would abort the process.
                raise GrammarDeadEnd("no token the JSON grammar allows")
        for sampler in (self._grammar, self._head.sampler, self._tail.sampler):
            lib.llama_sampler_accept(sampler, token)
        return token

    def _draw(self, logits: Any, *, grammar_first: bool) -> int | None:
        """A token from the chain, the grammar applied to the top-k (or first, to all)."""
        lib = self._lib
        cur = self._candidates(logits)
        if grammar_first:
            lib.llama_sampler_apply(self._grammar, ctypes.byref(cur))
            lib.llama_sampler_apply(self._head.sampler, ctypes.byref(cur))
        else:
            lib.llama_sampler_apply(self._head.sampler, ctypes.byref(cur))
            lib.llama_sampler_apply(self._grammar, ctypes.byref(cur))
            cur.sorted = False  # refused candidates are now -inf: the order no longer holds
        finite = np.isfinite(self._buffer["logit"][: cur.size])
        if not finite.any():
            return None
        if not finite.all():  # only allowed candidates reach the tail (typical_p would see NaN)
            kept = self._buffer[: cur.size][finite]
            self._buffer[: len(kept)] = kept
            cur.size = len(kept)
        lib.llama_sampler_apply(self._tail.sampler, ctypes.byref(cur))
        if not 0 <= cur.selected < cur.size:
            return None
        return int(self._buffer["id"][cur.selected])

    def _allowed(self, token: int) -> bool:
        """Whether the grammar, in its current state, allows ``token`` next."""
        one = self._one
        one["id"], one["logit"], one["p"] = token, 1.0, 0.0
        cur = self._array(one)
        self._lib.llama_sampler_apply(self._grammar, ctypes.byref(cur))
        return bool(np.isfinite(one["logit"][0]))

    def _candidates(self, logits: Any) -> Any:
        """Every token with its logit, in the reused buffer, as llama.cpp's array."""
        buf = self._buffer
        buf["id"] = self._ids
        buf["logit"] = logits
        buf["p"] = 0.0
        return self._array(buf)

    def _array(self, buf: Any) -> Any:
        """``buf`` (kept alive by the caller) as a ``llama_token_data_array``."""
        lib = self._lib
        return lib.llama_token_data_array(
            data=buf.ctypes.data_as(lib.llama_token_data_p), size=len(buf), selected=-1, sorted=False
        )

    def close(self) -> None:
        if self._grammar:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None
        self._head.close()
        self._tail.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: the library may be gone
            self.close()


def install(llm: Any) -> bool:
    """Make ``llm`` sample grammar-constrained requests with ``GrammarCheckedSampler``.

    Requests without a grammar, with mirostat or a logits processor keep
    llama-cpp-python's own sampler. False (and nothing changed) when this
    llama-cpp-python lacks the internals it needs.
    """
    original = getattr(type(llm), "_init_sampler", None)
    if not callable(original) or not hasattr(llm, "_model") or not hasattr(llm, "_seed"):
        log.info("llama-cpp-python internals differ: grammar sampling stays as it is")
        return False
    ref = weakref.ref(llm)  # no cycle through the instance: a dropped model is freed at once

    def init_sampler(**params: Any) -> Any:
        model = ref()
        assert model is not None  # called by the model itself
        grammar = params.pop("grammar", None)
        plain = (
            grammar is None
            or params.get("mirostat_mode", 0) != 0
            or params.get("logits_processor") is not None
            or params.get("temp", 0.8) < 0
            or not hasattr(grammar, "_grammar")
        )
        if plain:
            return original(model, grammar=grammar, **params)
        return GrammarCheckedSampler(model, grammar, **params)

    llm._init_sampler = init_sampler
    return True
