# Home Assistant add-on image. Releases are prebuilt by .github/workflows/builder.yaml
# (config.yaml `image:`); a local add-on without `image:` is built on the device from this
# file with build.yaml's base. The install is `script/setup --image` (the README's install,
# not editable; the source tree is removed after it): CPU onnxruntime, every G2P language,
# the spaCy model and the offline model bundle.
ARG BUILD_FROM=ghcr.io/home-assistant/amd64-base-debian:bookworm

# ---- build: compilers stay in this stage ----------------------------------------------
FROM ${BUILD_FROM} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential python3 python3-dev python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY requirements/ requirements/
COPY script/ script/
COPY wyoming_kokoro/ wyoming_kokoro/
COPY docker/verify_install.py docker/verify_install.py
RUN script/setup --image \
    && rm -rf wyoming_kokoro build ./*.egg-info \
    && .venv/bin/python docker/verify_install.py --bundle --bf16 --provider CPUExecutionProvider \
    && rm -rf /root/.cache

# ---- add-on ---------------------------------------------------------------------------
FROM ${BUILD_FROM}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /app /app
COPY addon/ /
RUN chmod a+x /etc/s6-overlay/s6-rc.d/*/run /etc/s6-overlay/s6-rc.d/*/finish
ENV PATH="/app/.venv/bin:${PATH}" \
    HF_HOME=/data/.cache/huggingface \
    HF_HUB_DISABLE_TELEMETRY=1 \
    PYTHONUNBUFFERED=1 \
    S6_CMD_WAIT_FOR_SERVICES_MAXTIME=0
WORKDIR /
# A real describe round trip; the first start may spend minutes downloading the model.
HEALTHCHECK --start-period=10m --interval=1m --timeout=20s \
    CMD python3 -m wyoming_kokoro.health --uri tcp://127.0.0.1:10200 --timeout 15 || exit 1

ARG BUILD_ARCH=amd64
ARG BUILD_VERSION=dev
LABEL io.hass.type="addon" \
      io.hass.arch="${BUILD_ARCH}" \
      io.hass.version="${BUILD_VERSION}" \
      org.opencontainers.image.title="Kokoro (Wyoming text to speech)"
