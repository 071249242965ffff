"""The demo client web app (`idgate demo`): the hybrid flow shown step by step.

It needs Starlette and Jinja2 (idgate's own dependencies); the RP library itself does not.
"""

from idgate.client.demo.app import SCOPE, create_demo_app
from idgate.client.demo.setup import DEMO_CLIENT_ID, demo_client_document, obtain_credentials

__all__ = [
    "DEMO_CLIENT_ID",
    "SCOPE",
    "create_demo_app",
    "demo_client_document",
    "obtain_credentials",
]
