"""Settings of the production web server (gunicorn reads ./gunicorn.conf.py from where it starts: the repository
root, the image's /app). The command line in docker-compose.yml / the Dockerfile says the rest."""

# How long an idle HTTP/1.1 connection is kept open for the client's next request. gunicorn's default, 2 s, is
# passed on to uvicorn workers; an analyst (or a proxy) that waited about that long between two requests sent
# the second just as the server closed the connection, and got "connection reset" (one request in a few
# thousand in bench/load.py). Longer than clients' own idle limits, so the client is the side that closes.
keepalive = 75

# Whose X-Forwarded-For to believe: nobody's, here. The app decides the client's address itself, once, from the
# FORWARDED_ALLOW_IPS setting (labeling_app/core/http/client_address.py; docs/operations.md, "Behind a proxy"),
# for the login lockout and the throttles alike. Left to gunicorn, the same environment variable (or its default,
# 127.0.0.1) would let uvicorn rewrite the address first from whatever a trusted peer, or a client beside it on
# the host, sent.
forwarded_allow_ips = ""
