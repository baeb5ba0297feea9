"""The cache contract between a service and the runbooks: `contract` (the reference layout,
key templates, value encodings, row comparison; imported by the lab's workload too),
`params` (the `cache:` params section naming a service's own layout), `reader` (the service's
Redis read through it by Phase 3 and the validation)."""
