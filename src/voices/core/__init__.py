"""The platform's core records: organisations, services, accounts, tokens, sessions, audit."""
