"""OpenAI-compatible speech over HTTP (aiohttp), served beside the Wyoming server.

Open WebUI, the OpenAI SDKs and many other clients speak `POST /v1/audio/speech`. This front
door shares everything with the Wyoming one: the engine and its earliest-deadline scheduler,
the voices and blends, the text front end, the per-address connection and synthesis limits
(`KokoroService`), and the write timeout. Audio leaves as it is rendered (chunked transfer):
the first bytes follow the first rendered piece, exactly as the first Wyoming audio-chunk does.
The request body and its errors are request.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from wyoming_kokoro import __version__
from wyoming_kokoro.languages import LANGUAGES
from wyoming_kokoro.service import KokoroService
from wyoming_kokoro.speech_api import encoders
from wyoming_kokoro.speech_api.request import ApiError, SpeechRequest, clip, parse_speech

_LOGGER = logging.getLogger(__name__)

MODELS = ("kokoro", "tts-1", "tts-1-hd")  # any model name is accepted; these are listed
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpApi:
    """The aiohttp application and its listener, bound to one KokoroService."""

    def __init__(self, service: KokoroService, api_key: str | None = None) -> None:
        self.service = service
        self.engine = service.engine
        self.config = service.config
        self.api_key = api_key.encode() if api_key else None
        self.closing = False
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    # -- application ----------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=self.service.max_data)
        app.router.add_post("/v1/audio/speech", self.speech)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/v1/audio/models", self.audio_models)
        app.router.add_get("/v1/audio/voices", self.voices)
        app.router.add_get("/health", self.health)
        return app

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: any free port); returns the bound port."""
        # An idle keep-alive connection (or one still sending its headers) is closed after
        # the idle timeout; a client that disconnects cancels its request at once, so a
        # queued request never waits for a slot on behalf of nobody.
        self._runner = web.AppRunner(
            self.app(), handler_cancellation=True, access_log=None,
            keepalive_timeout=min(self.config.idle_timeout, 75.0), shutdown_timeout=5.0)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host.strip("[]"), port)
        await self._site.start()
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """No new requests; in-flight ones get the runner's shutdown timeout to finish."""
        self.closing = True
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _errors(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        """Every failure as an OpenAI error body; a bad request never ends the server."""
        try:
            return await handler(request)
        except ApiError as err:
            return err.response()
        except web.HTTPException as err:
            if err.status < 400:
                raise
            code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}
            return ApiError(err.status, err.reason if err.status != 404 else
                            f"no route {request.method} {clip(request.path)}",
                            code=code.get(err.status)).response()
        except (asyncio.CancelledError, ConnectionError):
            raise
        except Exception:
            _LOGGER.exception("HTTP API request failed")
            return ApiError(500, "internal server error", kind="server_error").response()

    # -- listing endpoints (no key: Open WebUI reads them without one) ----------------------
    async def health(self, request: web.Request) -> web.Response:
        if self.closing:
            raise ApiError(503, "shutting down", code="unavailable", kind="server_error")
        return web.json_response({"status": "ok", "version": __version__,
                                  "voices": len(self.engine.spoken_voices())})

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": m, "object": "model", "created": 0, "owned_by": "wyoming-kokoro"}
            for m in MODELS]})

    async def audio_models(self, request: web.Request) -> web.Response:
        return web.json_response({"models": [{"id": m, "name": m} for m in MODELS]})

    async def voices(self, request: web.Request) -> web.Response:
        return web.json_response({"voices": [
            {"id": v.name, "name": v.name, "language": LANGUAGES[v.language].locale,
             "description": v.description} for v in self.engine.spoken_voices()]})

    # -- speech -----------------------------------------------------------------------------
    async def speech(self, request: web.Request) -> web.StreamResponse:
        self._authorize(request)
        if self.closing:
            raise ApiError(503, "the server is shutting down", code="unavailable",
                           kind="server_error")
        body = await self._read_json(request)
        speech = parse_speech(body, self.engine, self.config.max_text_length)
        try:
            encoder = encoders.create(speech.response_format)
        except encoders.FormatUnavailable as err:
            raise ApiError(400, str(err), "response_format", "unsupported_format") from None
        address = request.remote or "local"
        client = self.service.admit(address)
        if client is None:
            self.service.log_refusal(address)
            if self.service.open >= self.config.max_connections:
                raise ApiError(503, "the server is at its connection limit; try again later",
                               code="server_busy", kind="server_error")
            raise ApiError(429, f"too many requests at once from {address} (limit "
                           f"{self.config.max_client_connections})", code="rate_limit_exceeded",
                           kind="rate_limit_error")
        started = time.monotonic()
        try:
            async with self.service.synthesis_slot(client):
                response = await self._stream(request, speech, encoder)
        finally:
            self.service.release(address)
        _LOGGER.debug("HTTP speech: %d chars, %s, in %.3f s", len(speech.text),
                      speech.response_format, time.monotonic() - started)
        return response

    def _authorize(self, request: web.Request) -> None:
        if self.api_key is None:
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(),
                                                                 self.api_key):
            raise ApiError(401, "missing or incorrect API key (Authorization: Bearer KEY)",
                           code="invalid_api_key")

    async def _read_json(self, request: web.Request) -> dict:
        try:
            async with asyncio.timeout(self.config.idle_timeout):
                raw = await request.read()
        except TimeoutError:
            raise ApiError(408, "the request body did not arrive in time",
                           code="timeout") from None
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, f"request body over {self.service.max_data} bytes", "input",
                           "request_too_large") from None
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise ApiError(400, f"the body is not valid JSON: {clip(str(err))}",
                           code="invalid_json") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object", code="invalid_json")
        return body

    async def _stream(self, request: web.Request, speech: SpeechRequest,
                      encoder: encoders.Encoder) -> web.StreamResponse:
        """Headers once the first piece is rendered (a failure before it is still a clean
        500), then each piece as it comes; a failure after that cuts the chunked body short,
        which clients report as an incomplete response, never as a complete short file."""
        pcm_stream = self.engine.stream([speech.text], speech.voice, speech.voice.language,
                                        rate=speech.speed)
        response: web.StreamResponse | None = None
        try:
            try:
                first = await anext(pcm_stream, b"")
            except Exception as err:  # reported as the response
                _LOGGER.exception("HTTP synthesis failed")
                raise ApiError(500, f"synthesis failed: {clip(str(err), 200)}",
                               code="synthesis_failed", kind="server_error") from None
            response = web.StreamResponse(headers={"Content-Type": encoder.content_type})
            response.enable_chunked_encoding()
            await response.prepare(request)
            await self._send(response, encoder, encoder.start())
            await self._send(response, encoder, first, encode=True)
            async for pcm in pcm_stream:
                await self._send(response, encoder, pcm, encode=True)
            await self._send(response, encoder, None)
            await response.write_eof()
            return response
        except (TimeoutError, ConnectionError) as err:
            _LOGGER.debug("HTTP client gone or not reading: %r", err)
            self._drop(request)
            return response or web.Response(status=499)
        except ApiError:
            raise
        except Exception:
            if response is None:
                raise
            _LOGGER.exception("HTTP synthesis failed mid-stream; cutting the response short")
            self._drop(request)
            return response
        finally:
            await pcm_stream.aclose()  # stops the producer at once if the client went away

    async def _send(self, response: web.StreamResponse, encoder: encoders.Encoder,
                    pcm: bytes | None, encode: bool = False) -> None:
        """Encode (in a thread for compressed formats) and write within the write timeout:
        a client that stops reading cannot pin rendered audio in memory."""
        if pcm is None:
            data = await asyncio.to_thread(encoder.finish) if encoder.blocking \
                else encoder.finish()
        elif encode and encoder.blocking:
            data = await asyncio.to_thread(encoder.encode, pcm)
        else:
            data = encoder.encode(pcm) if encode else pcm
        if data:
            async with asyncio.timeout(self.config.write_timeout):
                await response.write(data)

    @staticmethod
    def _drop(request: web.Request) -> None:
        with contextlib.suppress(Exception):
            if request.transport is not None:
                request.transport.abort()


async def start_http(service: KokoroService, address: str, api_key: str | None = None
                     ) -> HttpApi:
    """The HTTP API listening on `host:port` (as settings.py normalises it)."""
    host, _, port = address.rpartition(":")
    api = HttpApi(service, api_key)
    bound = await api.start(host, int(port))
    _LOGGER.info("OpenAI-compatible speech API on http://%s:%d/v1 (%s)", host, bound,
                 "API key required" if api_key else "no API key")
    if not api_key and not _loopback(host):
        _LOGGER.warning("The HTTP API listens on %s without --http-api-key: anyone who can "
                        "reach the port can use it", host)
    return api


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
