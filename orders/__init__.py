"""Orders: the Order model, its admin, serializers and seed command."""
