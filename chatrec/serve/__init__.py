"""Serving: the web app (FastAPI + Gradio page), the JSON API, the widget, identity (ours, the host's), metrics."""
