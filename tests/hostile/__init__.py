"""Hostile and broken model files, built in code (see ``corpus.py``)."""
