# ocr-service image: the pipeline, the service (API, workers), Tesseract with the Vietnamese models,
# poppler, fonts and the hash-pinned neural engines. Build: docker build -t ocr-service .
# Run:   docker run --rm -v "$PWD/scans:/scans" ocr-service extract /scans --template dc01 --json
# Serve: docker run -v ocr-data:/data -p 127.0.0.1:8000:8000 -e OCR_SERVICE_BIND_HOST=0.0.0.0 ocr-service serve
#        (the server binds 127.0.0.1 unless told otherwise; publish the port on the host's loopback)
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

# templates are data beside the package, not inside it; the installation's data in a volume
ENV OCR_SERVICE_TEMPLATES_DIR=/app/templates OCR_SERVICE_DATA_DIR=/data
RUN useradd --create-home --uid 10001 ocr && mkdir /data && chown ocr /data
VOLUME /data
USER ocr
ENTRYPOINT ["ocr-service"]
CMD ["--help"]
