"""``affectlab dashboard``: a Streamlit page over the HTTP service — a client of its API only.

It never loads a pipeline: every number it shows comes from ``affectlab serve`` through
``client.ApiClient`` with the user's key, so what it shows is what the API answers (and is
audited like any other call). ``charts`` and ``batch`` are pure and tested without Streamlit.
"""
