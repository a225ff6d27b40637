"""Text → an async stream of PCM: segments rendered one pool job at a time, ahead of playback."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
    Sequence,
)
from concurrent.futures import ThreadPoolExecutor
from itertools import groupby
from typing import TYPE_CHECKING, Any

import numpy as np

from wyoming_kokoro import audio
from wyoming_kokoro.languages import is_english
from wyoming_kokoro.model.job import Job
from wyoming_kokoro.model.kokoro import DurationOverflowError, KokoroModel, ModelOutputError
from wyoming_kokoro.phonemes.g2p import G2PRegistry, Vocab
from wyoming_kokoro.phonemes.strings import join_phonemes, misaki_text, split_phonemes
from wyoming_kokoro.synth.options import SynthOptions
from wyoming_kokoro.synth.playout import Playout, RenderRate, Upcoming
from wyoming_kokoro.synth.scheduler import Scheduler, drive
from wyoming_kokoro.synth.stream import RequestState, stream_pcm
from wyoming_kokoro.text.sentences import Pause
from wyoming_kokoro.voices import Voice, VoiceLibrary

if TYPE_CHECKING:
    from wyoming_kokoro.text.plan import FrontEnd
    from wyoming_kokoro.text.spans import Block, Span

_LOGGER = logging.getLogger(__name__)


class SynthesisError(RuntimeError):
    """A request could not be rendered (bad input or a model fault)."""


class Engine:
    """Everything needed to speak: model, voices, G2P, options and a bounded worker pool."""

    def __init__(self, model: KokoroModel, voices: VoiceLibrary, default_voice: str,
                 g2p: G2PRegistry | None = None, options: SynthOptions | None = None,
                 workers: int = 1, frontend: FrontEnd | None = None,
                 first_model: KokoroModel | None = None) -> None:
        if default_voice not in voices.voices:
            raise SynthesisError(f"default voice {default_voice!r} is not among the voices")
        self.model = model
        self.first_model = first_model  # a small bucket for each request's first words
        self.voices = voices
        self.default_voice = default_voice
        self.g2p = g2p or G2PRegistry()
        self.vocab = Vocab.load()
        self.options = options or SynthOptions()
        if frontend is None:
            from wyoming_kokoro.text.plan import FrontEnd
            frontend = FrontEnd()
        self.frontend = frontend  # text/SSML → sentences of spans (wyoming_kokoro.frontend)
        self.render_rate = RenderRate()  # measured at warm-up, then by every request
        self.playout = Playout(self.render_rate, workers)  # every request in flight
        # model calls, earliest deadline first; new heads only while playing streams can wait
        self.scheduler = Scheduler(workers, slack=self.playout.slack,
                                   first_in_line=self.playout.first_in_line,
                                   between_calls=self.playout.between_calls)
        # Text work (front end, G2P, crossfades) runs beside the model calls, so a request's
        # cheap steps — like noticing it is finished — never queue behind other requests.
        self.text_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kokoro-text")
        started = threading.Barrier(3)  # start both text threads now: a flat thread count
        for _ in range(2):  # from the first request on (and no spawn on the request path)
            self.text_pool.submit(started.wait)
        started.wait()
        self._warm_lock = threading.Lock()

    # -- voices -----------------------------------------------------------------------------
    def spoken_voices(self) -> list[Voice]:
        """Voices whose language has a working G2P (the others would speak silence)."""
        return [v for v in self.voices.voices.values() if self.g2p.available(v.language)]

    def select_voice(self, name: str | None = None, language: str | None = None
                     ) -> tuple[Voice, str]:
        voice, warning = self.voices.select(name, language, self.default_voice)
        return voice, warning

    # -- rendering (worker threads) ---------------------------------------------------------
    def phonemize(self, text: str | Sequence[Span], language: str) -> str:
        """Text, or the prepared spans of one model call, → one vocab-clean phoneme string.
        English spans go to misaki together (phoneme spans as links) to keep context;
        other languages are phonemized span by span and joined."""
        if isinstance(text, str):
            return self.vocab.clean(self.g2p.phonemize(text, language))
        parts: list[str] = []
        for lang, run in groupby(text, key=lambda span: span.language or language):
            if is_english(lang):
                parts.append(self.g2p.phonemize(misaki_text(list(run)), lang))
            else:
                parts += [s.phonemes if s.phonemes is not None
                          else self.g2p.phonemize(s.text, lang) for s in run]
        return self.vocab.clean(join_phonemes(parts))

    def render_phonemes(self, phonemes: str, voice: Voice, speed: float | None = None,
                        model: KokoroModel | None = None) -> np.ndarray:
        """One model call (or several after an alignment overflow) → trimmed float audio."""
        model = model or self.model
        speed = self.options.speed if speed is None else speed
        ids = self.vocab.encode(phonemes)
        if not ids:
            return audio.silence(0)
        try:
            raw = model.run(ids, voice.style(len(ids)), speed)
        except DurationOverflowError as overflow:
            if len(ids) <= 1:
                raise ModelOutputError("a single phoneme overflowed the alignment window") from None
            limit = max(1, min(len(ids) - 1, len(ids) * overflow.limit // overflow.frames))
            _LOGGER.debug("Re-splitting %d tokens to %d (%s)", len(ids), limit, overflow)
            parts = [self.render_phonemes(p, voice, speed, model)
                     for p in split_phonemes(phonemes, limit)]
            return np.concatenate(parts) if parts else audio.silence(0)
        return audio.trim(raw)

    def render_piece_steps(self, phonemes: str, voice: Voice, speed: float | None = None,
                           model: KokoroModel | None = None,
                           ahead: Callable[[], float] | None = None
                           ) -> Generator[Job | np.ndarray, Any, None]:
        """One segment as model Jobs and audio: with the streaming decoder a head first when
        the listener would otherwise wait, then the exact rest; otherwise one model call."""
        ids = self.vocab.encode(phonemes)
        if self.model.split is None or not ids or model is not None:
            yield (yield Job(self.render_phonemes, (phonemes, voice, speed, model)))
            return
        speed = self.options.speed if speed is None else speed
        yield from self.model.segment_steps(ids, voice.style(len(ids)), speed, ahead)

    def render_text(self, text: str, voice: Voice, language: str | None = None,
                    state: RequestState | None = None) -> Iterator[np.ndarray]:
        """Float pieces for one text, model calls run inline (CLI, tests, warm-up)."""
        return drive(self.render_steps(text, voice, language, state))

    def render_steps(self, text: str, voice: Voice, language: str | None = None,
                     state: RequestState | None = None
                     ) -> Generator[Job | np.ndarray, Any, None]:
        """Model Jobs and float pieces for one text (plain, or SSML Markup from
        wyoming_kokoro.frontend). Sentences come from the front end; each is one model call
        per voice/rate run, cut to the model's capacity."""
        state = state or RequestState()
        language = language or voice.language
        opts = self.options
        blocks = self.frontend.read(text, opts.max_pause)
        plan = [self._upcoming(block, language, state.rates) for block in blocks]
        progress = state.progress
        progress.upcoming = (*progress.upcoming, *plan)
        clock = state.model_time or (lambda: 0.0)
        for block, estimate in zip(blocks, plan, strict=True):
            progress.current, progress.current_done = estimate, 0.0
            progress.upcoming = progress.upcoming[1:]
            began = clock()
            yield from self._block_steps(block, voice, language, state)
            if state.rates is not None and estimate.speech:  # the playout plan learns
                model_s, spoken = clock() - began, progress.current_done
                _LOGGER.debug("Sentence: %.2f s of speech (guessed %.2f s), %.2f s of model "
                              "time (planned %.2f s)", spoken, estimate.seconds, model_s,
                              state.rates.cost(spoken))
                state.rates.learn(estimate.chars, estimate.language, spoken)
                state.rates.record(model_s, spoken)
            progress.current = None

    @staticmethod
    def _upcoming(block: Block, language: str, rates: RenderRate | None) -> Upcoming:
        if isinstance(block, Pause):
            return Upcoming(block.seconds, speech=False)
        chars = sum(len(span.text) for span in block.spans)
        seconds = rates.estimate(chars, language) if rates is not None else 0.0
        return Upcoming(seconds, chars=chars, language=language)

    def _block_steps(self, block: Block, voice: Voice, language: str, state: RequestState
                     ) -> Generator[Job | np.ndarray, Any, None]:
        """One sentence (each voice/rate run one model call) or one pause tag."""
        opts = self.options
        if isinstance(block, Pause):
            seconds = min(block.seconds, opts.max_pause, opts.max_total_pause - state.paused)
            state.paused += max(0.0, seconds)
            yield audio.silence(seconds)
            state.gap = 0.0
            return
        for call in self.frontend.plan(block, voice, language, self.voices,
                                       self.g2p.available):
            phonemes = self.phonemize(call.spans, language)
            for piece, model in self._pieces(phonemes, first=not state.spoken):
                if state.spoken and state.gap:
                    yield audio.silence(state.gap)
                yield from self.render_piece_steps(piece, call.voice,
                                                   opts.speed * call.rate * state.rate,
                                                   model, state.ahead)
                state.spoken = True
                state.gap = opts.clause_silence
        state.gap = opts.sentence_silence

    def _pieces(self, phonemes: str, first: bool) -> list[tuple[str, KokoroModel | None]]:
        """Pieces that fit the model. A fixed-bucket model costs the same per call whatever
        the text, so a request's first words go to the small first-audio bucket if loaded."""
        small = self.first_model
        if first and small is not None and len(phonemes) > small.capacity:
            head, *_ = split_phonemes(phonemes, small.capacity)
            rest = phonemes[len(head):].strip()
            return [(head, small), *((p, None) for p in split_phonemes(rest, self.model.capacity))]
        if first and small is not None:
            return [(phonemes, small)] if phonemes else []
        return [(p, None) for p in split_phonemes(phonemes, self.model.capacity)]

    def synthesize(self, text: str, voice: Voice | None = None, language: str | None = None
                   ) -> np.ndarray:
        """Whole text → float audio, synchronously (CLI, tests, warm-up)."""
        voice = voice or self.voices.voices[self.default_voice]
        pieces = list(self.render_text(text, voice, language))
        return np.concatenate(pieces) if pieces else audio.silence(0)

    def warm_up(self) -> None:
        """Load the default voice's G2P and run the model once so the first request is fast."""
        voice = self.voices.voices[self.default_voice]
        with self._warm_lock:
            began = time.monotonic()
            rendered = self.synthesize("Ready." if is_english(voice.language) else "Hola.", voice)
            if len(rendered):  # a first guess, until a long sentence is measured
                self.render_rate.rtf = (time.monotonic() - began) * audio.SAMPLE_RATE / len(
                    rendered)

    # -- async streaming --------------------------------------------------------------------
    def stream(self, texts: AsyncIterable[str] | Iterable[str], voice: Voice,
               language: str | None = None, rate: float = 1.0) -> AsyncIterator[bytes]:
        """PCM (int16 bytes) for a stream of texts; the next piece renders while one is sent.
        `rate` scales the server's speed for this request only."""
        return stream_pcm(self.render_steps, self.scheduler, self.text_pool, self.options,
                          self.playout, texts, voice, language, rate)

    def close(self) -> None:
        self.scheduler.close()
        self.text_pool.shutdown(wait=False, cancel_futures=True)
