"""Metrics, structured logs and tracing: what an operator watches idgate through.

Nothing here imports the ASGI framework; the web layer feeds it (web/observe.py).
"""
