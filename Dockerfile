FROM python:3.11-slim
WORKDIR /app
ENV HF_HUB_OFFLINE=1 PIP_NO_CACHE_DIR=1
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY streams streams
COPY processors processors
COPY schemas schemas
COPY inference inference
COPY infra infra
COPY models models
# Editable: the shipped quality-model artifacts under models/ stay beside the code that finds them.
RUN pip install -e .
# `docker build --build-arg GIT_SHA=$(git rev-parse --short=12 HEAD) .` puts the commit into assay_build_info.
ARG GIT_SHA=unknown
ENV ASSAY_GIT_SHA=${GIT_SHA}
EXPOSE 6066 8080
# The worker's readiness by default; the inference server's container sets ASSAY_HEALTHCHECK_URL to its own /ready.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 CMD ["python", "-m", "infra.healthcheck"]
CMD ["assay", "worker"]
