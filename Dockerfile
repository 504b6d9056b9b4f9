# The eventpipes worker image used by docker-compose.yml.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY src ./src
RUN pip install --no-cache-dir .
COPY topologies ./topologies
COPY pipes ./pipes
ENTRYPOINT ["eventpipes"]
