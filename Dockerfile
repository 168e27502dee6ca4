FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt gunicorn==23.0.0
COPY . .
EXPOSE 8000
CMD ["gunicorn", "labeling_app.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
