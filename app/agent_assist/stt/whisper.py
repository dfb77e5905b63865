"""The faster-whisper adapter: decode one utterance with a right-sized encoder window.

Why not ``WhisperModel.transcribe``: it always pads the encoder input to 30 s.
On a 2-core PC tiny.en spends ~0.29 s encoding those 30 s even for a one-second
utterance, which alone breaks the live latency and CPU budgets. CTranslate2's
Whisper encoder accepts shorter inputs (measured: 4 s of context encodes in
~0.02 s), so we reuse faster-whisper for loading, features, tokenizer, prompt
and word alignment, and pad each utterance's features (with zeros, as
faster-whisper pads its 30 s window) only to ``min_context_s``. Measured on
the shared speech set (tiny.en, beam 5): 4 s of context loops and repeats
(WER 21%), 8 s still loops once (8%), 12 s never did (3.6%, vs 4.1% at 30 s)
at half the CPU. A generation cap tied to the audio duration bounds any loop.

Thread rules: one ``WhisperTranscriber`` per thread (the pipeline's STT worker).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from agent_assist.domain import SAMPLE_RATE
from agent_assist.errors import ModelError, UserError

__all__ = ["DecodeOptions", "Transcript", "TranscriptWord", "WhisperTranscriber"]

_LANGUAGE_CODES = frozenset(
    [
        "en",
        "zh",
        "de",
        "es",
        "ru",
        "ko",
        "fr",
        "ja",
        "pt",
        "tr",
        "pl",
        "ca",
        "nl",
        "ar",
        "sv",
        "it",
        "id",
        "hi",
        "fi",
        "vi",
        "he",
        "uk",
        "el",
        "ms",
        "cs",
        "ro",
        "da",
        "hu",
        "ta",
        "no",
        "th",
        "ur",
        "hr",
        "bg",
        "lt",
        "la",
        "mi",
        "ml",
        "cy",
        "sk",
        "te",
        "fa",
        "lv",
        "bn",
        "sr",
        "az",
        "sl",
        "kn",
        "et",
        "mk",
        "br",
        "eu",
        "is",
        "hy",
        "ne",
        "mn",
        "bs",
        "kk",
        "sq",
        "sw",
        "gl",
        "mr",
        "pa",
        "si",
        "km",
        "sn",
        "yo",
        "so",
        "af",
        "oc",
        "ka",
        "be",
        "tg",
        "sd",
        "gu",
        "am",
        "yi",
        "lo",
        "uz",
        "fo",
        "ht",
        "ps",
        "tk",
        "nn",
        "mt",
        "sa",
        "lb",
        "my",
        "bo",
        "tl",
        "mg",
        "as",
        "tt",
        "haw",
        "ln",
        "ha",
        "ba",
        "jw",
        "su",
        "yue",
    ]
)
"""Whisper's languages (as in faster-whisper's tokenizer), checked before loading."""

_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How hard to try on one decode.

    Attributes:
        beam_size: 1 is greedy (partials); finals use a small beam for accuracy.
        word_timestamps: align words to audio (costs one extra pass; finals only).
        max_tokens_per_second: generation cap per second of audio; speech rarely
            exceeds ~4 tokens/s, so 8 leaves room while stopping loops early.
        context_s: encoder window for this decode (None: the transcriber's
            ``min_context_s``). Partials use a shorter, cheaper window.
    """

    beam_size: int = 1
    word_timestamps: bool = False
    max_tokens_per_second: float = 8.0
    context_s: float | None = None


@dataclass(frozen=True, slots=True)
class TranscriptWord:
    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """One decode's result; word times are seconds from the start of the audio given."""

    text: str
    confidence: float
    no_speech_prob: float
    words: tuple[TranscriptWord, ...] = ()
    tokens: tuple[int, ...] = ()
    """Opaque token ids, to pass back as ``prefix`` when re-decoding the same speech."""


def _stops_early(result: Transcript, duration: float, slack_s: float = 0.7) -> bool:
    """Words end long before the audio (which ends ~0.3 s after the speech)."""
    if duration < 1.0:
        return False
    return not result.words or result.words[-1].end < duration - slack_s


def _compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


class WhisperTranscriber:
    """Loads a CTranslate2 Whisper model folder and decodes utterances.

    Args:
        model_dir: a folder with ``model.bin``, ``config.json``, ``tokenizer.json``
            (never a model *name*: this class never downloads anything).
        language: ISO code, or None to detect per utterance (multilingual models).
        compute_type: CTranslate2 quantisation; int8 is the fast CPU choice.
        cpu_threads: intra-op threads. 1 measured as fast as 2 for tiny.en on a
            2-core PC under load, at half the CPU, and leaves a core to the softphone.
        min_context_s: the encoder sees at least this much audio (utterance plus
            silence padding); shorter windows are faster but less accurate.
            None picks by model: 12 s for English-only models (tiny.en: same
            WER as 30 s at half the CPU), 30 s for multilingual ones (base
            drops words with 12 s: streaming WER 4.6% even with the early-stop
            retry, vs 3.6% at 30 s and 3.1% offline).
        margin_s: silence appended after the utterance so the last word is heard.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        language: str | None = "en",
        compute_type: str = "int8",
        cpu_threads: int = 1,
        min_context_s: float | None = None,
        margin_s: float = 0.5,
    ) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").is_file():
            raise ModelError(
                f"speech model folder {model_dir} has no model.bin",
                "run `agent-assist models install` (or `models verify` to see what is wrong)",
            )
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from threadpoolctl import threadpool_limits

        # OpenBLAS threads spin after every small matmul (the mel filterbank),
        # which measured as ~2x the CPU time for no speed-up; one is enough.
        threadpool_limits(limits=1, user_api="blas")

        try:
            self._model: Any = WhisperModel(
                str(model_dir),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:  # CTranslate2/tokenizers raise many types for a damaged folder
            raise ModelError(
                f"cannot load the speech model in {model_dir}: {exc}",
                "run `agent-assist models verify` and reinstall with `agent-assist models install --force`",
            ) from exc
        self.model_dir = model_dir
        self.multilingual: bool = bool(self._model.model.is_multilingual)
        if not self.multilingual and language not in (None, "en"):
            raise UserError(
                f"the speech model in {model_dir} is English-only and cannot transcribe '{language}'",
                "use the multilingual model: --model base --language " + str(language),
            )
        if language is not None and language not in _LANGUAGE_CODES:
            raise UserError(
                f"unknown language code '{language}'",
                "use a two-letter code such as en, de, fr, es, or 'auto' to detect it",
            )
        self.language = language if self.multilingual else "en"
        self.min_context_s = (
            min_context_s if min_context_s is not None else (30.0 if self.multilingual else 12.0)
        )
        self.margin_s = margin_s
        self._tokenizer_cls = Tokenizer
        self._tokenizers: dict[str | None, Any] = {}
        self._suppress: tuple[int, ...] | None = None

    def _tokenizer(self, language: str | None) -> Any:
        tok = self._tokenizers.get(language)
        if tok is None:
            tok = self._tokenizer_cls(
                self._model.hf_tokenizer, self.multilingual, task="transcribe", language=language
            )
            self._tokenizers[language] = tok
        return tok

    def _suppressed(self, tokenizer: Any) -> list[int]:
        if self._suppress is None:
            from faster_whisper.transcribe import get_suppressed_tokens

            self._suppress = tuple(get_suppressed_tokens(tokenizer, [-1]) or ())
        return list(self._suppress)

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        options: DecodeOptions,
        prefix: tuple[int, ...] = (),
        previous: tuple[int, ...] = (),
    ) -> Transcript:
        """Decode ``audio`` (16 kHz mono float32, one utterance, ≤ 30 s).

        ``prefix``: tokens of an earlier decode of the start of this same audio;
        they are forced rather than generated (a partial re-decodes only its
        new tail, and cannot wander off what it showed before).
        ``previous``: tokens of what this speaker said just before, given to
        Whisper as context (as ``condition_on_previous_text`` does), so an
        utterance split at a pause still reads as one sentence.

        With word timestamps (finals), a decode whose words stop well before
        the audio does is retried once with the full 30 s window: a short
        window sometimes makes Whisper end early (measured on base: "The Bir"
        for "The birch canoe slid on the smooth planks").
        """
        result = self._decode(audio, options, prefix, previous)
        duration = len(audio) / SAMPLE_RATE
        context = self.min_context_s if options.context_s is None else options.context_s
        if options.word_timestamps and context < 30.0 and _stops_early(result, duration):
            full = self._decode(audio, replace(options, context_s=30.0), prefix, previous)
            if full.words and (not result.words or full.words[-1].end > result.words[-1].end):
                return full
        return result

    def _decode(
        self,
        audio: npt.NDArray[np.float32],
        options: DecodeOptions,
        prefix: tuple[int, ...],
        previous: tuple[int, ...],
    ) -> Transcript:
        duration = len(audio) / SAMPLE_RATE
        if duration < 0.1:
            return Transcript("", 0.0, 1.0)
        audio = audio[: 30 * SAMPLE_RATE]
        features = self._model.feature_extractor(audio)
        context = self.min_context_s if options.context_s is None else options.context_s
        frames = min(3000, max(int(context * 100), features.shape[-1] + int(self.margin_s * 100)))
        padded = np.zeros((features.shape[0], frames), dtype=np.float32)
        padded[:, : min(frames, features.shape[-1])] = features[:, :frames]
        encoder_output = self._model.encode(padded)

        language = self.language
        if language is None:
            lang_result = self._model.model.detect_language(encoder_output)[0]
            language = lang_result[0][0][2:-2]
        tokenizer = self._tokenizer(language)
        prompt = self._model.get_prompt(tokenizer, list(previous[-64:]), without_timestamps=True)
        # The cap counts every text token, forced prefix included.
        limit = len(prompt) + math.ceil(duration * options.max_tokens_per_second) + 8
        forced = list(prefix[: max(0, limit - len(prompt) - 4)])
        result = self._generate(encoder_output, prompt + forced, tokenizer, options.beam_size, limit)
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        text = tokenizer.decode(tokens).strip()
        if _compression_ratio(text) > 2.4 and options.beam_size < 5:
            # A loop: retry once, unforced, with a wider beam and a repetition penalty.
            result = self._generate(encoder_output, prompt, tokenizer, 5, limit, repetition_penalty=1.1)
            tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
            text = tokenizer.decode(tokens).strip()
        n = len(tokens)
        avg_logprob = result.scores[0] * n / (n + 1) if n else -10.0
        no_speech = float(result.no_speech_prob)
        if (no_speech > 0.6 and avg_logprob < -1.0) or not any(c.isalnum() for c in text):
            return Transcript("", 0.0, no_speech)  # silence, or only punctuation
        words: tuple[TranscriptWord, ...] = ()
        if options.word_timestamps and tokens:
            words = self._align(tokenizer, tokens, encoder_output, duration)
        return Transcript(text, float(math.exp(avg_logprob)), no_speech, words, tuple(tokens))

    def _generate(
        self,
        encoder_output: Any,
        prompt: list[int],
        tokenizer: Any,
        beam_size: int,
        max_length: int,
        repetition_penalty: float = 1.0,
    ) -> Any:
        return self._model.model.generate(
            encoder_output,
            [prompt],
            beam_size=beam_size,
            max_length=max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed(tokenizer),
            repetition_penalty=repetition_penalty,
        )[0]

    def _align(
        self, tokenizer: Any, tokens: list[int], encoder_output: Any, duration: float
    ) -> tuple[TranscriptWord, ...]:
        from faster_whisper.transcribe import merge_punctuations

        num_frames = int(duration * SAMPLE_RATE) // self._model.feature_extractor.hop_length
        alignment = self._model.find_alignment(tokenizer, [tokens], encoder_output, num_frames)[0]
        merge_punctuations(alignment, _PREPEND, _APPEND)
        words = []
        for w in alignment:
            if not w["word"].strip():
                continue
            start = min(float(w["start"]), duration)
            end = min(max(float(w["end"]), start), duration)
            words.append(TranscriptWord(w["word"].strip(), start, end, float(w["probability"])))
        return tuple(words)
