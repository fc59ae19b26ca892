"""Reading instruction datasets into canonical records, and writing Arrow shards."""
