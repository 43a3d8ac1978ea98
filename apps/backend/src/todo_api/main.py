"""ASGI entry point for `uvicorn todo_api.main:app`; settings come from the environment."""

from todo_api.app import create_app
from todo_api.settings import load_settings

app = create_app(load_settings())
