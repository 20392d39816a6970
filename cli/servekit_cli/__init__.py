"""servekit's command line: run the kit locally (and, later, submit and manage jobs)."""

__all__: list[str] = []
