"""cinegen's own models: small networks trained here, with the data and the rulers they need."""
