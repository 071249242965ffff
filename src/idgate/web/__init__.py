"""The ASGI layer: routes, parameter parsing, cookies, headers, and rendering the core's answers.

This is the only package that imports Starlette.
"""
