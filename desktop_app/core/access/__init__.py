"""Who may do what: staff accounts' roles and permissions, names and Argon2 password hashes."""
