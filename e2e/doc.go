// Package e2e holds end-to-end tests: they build the auth service and the
// example microservice, run them as real processes against real Redis and
// PostgreSQL, and walk the quick start over HTTP.
package e2e
