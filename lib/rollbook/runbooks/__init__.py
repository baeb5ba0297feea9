"""The runbooks' back-ends: one module per notebook (and the steps several share); the
notebooks call these. Mechanisms live with the package that owns them (`postgres`,
`canary`, `archive`, `review`)."""
