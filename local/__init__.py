"""Local stand-ins for production services (test and `make run` only, never deployed)."""
