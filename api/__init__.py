"""The API's shared conventions: the error body and its handler, strict JSON, Swagger docs.

It knows nothing about orders or rules; every app imports it.
"""
