"""The HTTP API (API §3): ``app.create_app(system)``, served by ``serve.serve``."""
