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
EXPOSE 6066
CMD ["assay", "worker"]
