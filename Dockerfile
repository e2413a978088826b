# ocr-service worker image: the pipeline, Tesseract with the Vietnamese models, poppler, fonts and the
# hash-pinned neural engines. Build: docker build -t ocr-service .
# Run:   docker run --rm -v "$PWD/scans:/scans" ocr-service extract /scans --template dc01 --json
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMP_THREAD_LIMIT=1 ORT_DISABLE_TELEMETRY=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-vie tesseract-ocr-script-viet tesseract-ocr-eng poppler-utils \
        fonts-dejavu-core fonts-noto-core fonts-liberation2 fonts-freefont-ttf fonts-roboto fonts-open-sans \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml requirements-engines.txt README.md ./
COPY ocr_service ./ocr_service
COPY templates ./templates
RUN pip install . && pip install --no-deps --require-hashes -r requirements-engines.txt

# templates are data beside the package, not inside it
ENV OCR_SERVICE_TEMPLATES=/app/templates
RUN useradd --create-home --uid 10001 ocr
USER ocr
ENTRYPOINT ["ocr-service"]
CMD ["--help"]
