"""The front page at `/`: what the service is, whether it is ready, the developer-cabinet values."""
