"""What operators and their orchestrators read: liveness, readiness and Prometheus metrics."""
