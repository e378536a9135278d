# Shared test support and system tests.
