"""Workers that advance threads on Celery with RabbitMQ (``agent-patterns worker``)."""
