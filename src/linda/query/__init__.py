"""Queries over contacts: the filter language (`grammar`, `filters`, `compile`), search, segments."""
