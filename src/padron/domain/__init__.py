"""Plain types: persons, CURP rules, templates, decisions and errors. Imports nothing of padron."""
