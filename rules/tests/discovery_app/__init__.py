"""A stand-alone app whose ``order_rules`` module the rules app must discover."""
