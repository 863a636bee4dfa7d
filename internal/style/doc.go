// Package style holds tests that keep the whole module to the house style:
// every package has a doc comment, every exported name is documented, and
// the session package that microservices embed stays free of database
// drivers and auth-service code. It has no code of its own.
package style
