"""Partner agreements, policy decisions, minimal disclosure and the customs exchange."""
