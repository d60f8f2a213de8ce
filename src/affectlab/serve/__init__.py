"""The HTTP service (``affectlab serve``): pipelines behind API keys, limits and a durable audit log.

``settings`` (what a deployment chooses), ``database`` (SQLAlchemy engine + Alembic migrations),
``keys`` (API keys: shown once, stored as hashes), ``audit`` (the group-commit writer), ``app``
(the FastAPI app factory). Import ``affectlab.serve.app.create_app`` for tests and ASGI servers.
"""
