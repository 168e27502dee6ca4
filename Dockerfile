FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt
COPY . .
EXPOSE 8000
# The same command as docker-compose.yml's web service (tests/serving checks): ASGI under uvicorn workers, so
# open event streams do not hold a worker each; no gunicorn control socket, as nothing here uses one.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn labeling_app.asgi:application --worker-class uvicorn_worker.UvicornWorker --workers 3 --bind 0.0.0.0:8000 --no-control-socket"]
