"""Console pages for officers and residents."""
