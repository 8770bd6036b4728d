"""The HTTP edge: what stands between a client and the routes.

Middleware (request ids, client address, body limits, deadlines, security
headers, API keys, rate limits), the error handlers that turn every failure into
a JSON body naming what was wrong, and uvicorn's protocol with its head limits.
"""
