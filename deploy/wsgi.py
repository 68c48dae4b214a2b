"""`gunicorn deploy.wsgi:app` — every service behind one address (embedded run)."""
from deploy.gateway import create_gateway

app = create_gateway()
