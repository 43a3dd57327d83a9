"""What the JSON API (``rathaus.api``) and the web pages (``rathaus.web``) share, so neither imports the other:
the request dependencies (runtime, calling principal, call context) and the rendering of Markdown answers as HTML.
"""
