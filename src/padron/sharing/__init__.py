"""The sovereign sharing gateway: partners, agreements, requests, interchange."""
