"""The web app: app factory, accounts and sessions, CSRF, layout and shared pages."""
