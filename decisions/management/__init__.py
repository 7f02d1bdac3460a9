"""Management commands of the decisions app."""
