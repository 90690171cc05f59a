"""Storage: models, the database handle, migrations, and claiming rows with leases."""
