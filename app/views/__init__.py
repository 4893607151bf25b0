"""One widget per view of the session; each observes :class:`app.document.Document`."""
