"""One module per REST resource: schemas, handlers, routes (Wazo's plugin anatomy)."""
