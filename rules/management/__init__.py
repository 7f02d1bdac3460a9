"""Management commands of the rules app."""
