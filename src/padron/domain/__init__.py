"""Plain types of the registry: persons, CURP rules, templates, decisions and errors. Imports nothing of padron."""
