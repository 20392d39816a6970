"""Example models for servekit: built by ``models/build.py``."""
