"""The JSON grammar and its checked sampler, with the real SmolLM2 (no fakes).

What matters: answers obey the schema's grammar token by token (the sampler
only changes the cost), strings hold no control characters, a llama-cpp-python
without the internals it needs is left alone, and a token the grammar refuses
is never accepted (llama.cpp would abort the whole process).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_assist.llm.json_grammar import (
    GrammarCheckedSampler,
    GrammarDeadEnd,
    install,
    schema_grammar,
)
from agent_assist.llm.schema import summary_schema, validate

SCHEMA = summary_schema(["REFUND-ISSUED", "REPLACEMENT-SENT"])


def test_strings_in_the_grammar_refuse_control_characters() -> None:
    text = schema_grammar(SCHEMA)._grammar
    (char,) = [line for line in text.splitlines() if line.startswith("char ::=")]
    assert char.startswith('char ::= [^"\\\\\\x7F\\x00-\\x1F]')
    assert schema_grammar(SCHEMA) is schema_grammar(SCHEMA)  # built once per schema


def test_a_llama_without_the_needed_internals_is_left_alone() -> None:
    class Other:
        pass

    other = Other()
    assert install(other) is False and not hasattr(other, "_init_sampler")


@pytest.fixture(scope="module")
def llm(smollm2_path: Path) -> Any:
    import llama_cpp

    gguf = next(smollm2_path.glob("*.gguf")) if smollm2_path.is_dir() else smollm2_path
    model = llama_cpp.Llama(str(gguf), n_ctx=1024, n_threads=1, verbose=False, chat_format="chatml")
    assert install(model)
    yield model
    model.close()


MESSAGES = [
    {"role": "system", "content": "You summarise a support call as JSON."},
    {
        "role": "user",
        "content": "Customer: my coffee machine jug arrived broken, order NW-48213.\n"
        "Agent: I am sorry. I will send a replacement jug today.",
    },
]


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.parametrize("temperature", [0.0, 0.2, 1.5])
def test_answers_obey_the_schema_token_by_token(llm: Any, temperature: float) -> None:
    samplers: list[Any] = []
    real = llm._init_sampler

    def spy(**params: Any) -> Any:
        sampler = real(**params)
        samplers.append(sampler)
        return sampler

    llm._init_sampler = spy
    try:
        out = llm.create_chat_completion(
            MESSAGES, max_tokens=400, temperature=temperature, repeat_penalty=1.2, seed=3,
            grammar=schema_grammar(SCHEMA),
        )  # fmt: skip
    finally:
        llm._init_sampler = real
    text = out["choices"][0]["message"]["content"]
    assert isinstance(samplers[0], GrammarCheckedSampler)
    assert samplers[0].checked > 20
    if out["choices"][0]["finish_reason"] == "stop":  # complete: valid JSON of the schema
        data = json.loads(text)  # strict: no raw control characters in strings
        assert validate(data, SCHEMA) == []
    else:  # cut at max_tokens: still a prefix the grammar allowed
        assert text.lstrip().startswith("{")
    assert "\n" not in text  # no raw line break anywhere: strings escape it, spaces are " "


@pytest.mark.slow
@pytest.mark.model
def test_a_request_without_grammar_keeps_llama_cpp_pythons_sampler(llm: Any) -> None:
    out = llm.create_chat_completion(MESSAGES, max_tokens=8, temperature=0.0)
    assert out["choices"][0]["message"]["content"]
    assert not isinstance(getattr(llm, "_sampler", None), GrammarCheckedSampler)


@pytest.mark.slow
@pytest.mark.model
def test_a_token_the_grammar_refuses_is_never_accepted(llm: Any) -> None:
    """With every candidate refused (an impossible grammar state forced here), the
    sampler raises GrammarDeadEnd (the backend ends the answer there) instead of
    letting llama.cpp abort the process."""
    sampler = GrammarCheckedSampler(llm, schema_grammar(SCHEMA), temp=0.2, top_k=40)
    llm.reset()
    llm.eval(llm.tokenize(b"Hello"))
    refuse_all = sampler._allowed
    sampler._allowed = lambda token: False  # type: ignore[method-assign]
    with pytest.raises(GrammarDeadEnd, match="grammar"):
        sampler.sample(llm._ctx, -1)
    sampler._allowed = refuse_all  # type: ignore[method-assign]
    token = sampler.sample(llm._ctx, -1)  # the grammar's first token: "{" or a space
    assert llm.detokenize([token]).strip() in (b"{", b"")
    sampler.close()


def test_installing_leaves_no_reference_cycle_through_the_model() -> None:
    import gc
    import weakref

    class Fake:
        _model = _seed = None

        def _init_sampler(self, **params: Any) -> Any:
            return ("original", params.get("grammar"))

    fake = Fake()
    assert install(fake)
    assert fake._init_sampler(grammar=None, temp=0.2) == ("original", None)  # no grammar: theirs
    gone = weakref.ref(fake)
    gc.disable()
    try:
        del fake
        assert gone() is None  # freed by reference counting alone
    finally:
        gc.enable()
