// Package style holds tests that keep the whole module to the house style:
// every package has a doc comment and every exported name is documented.
// It has no code of its own.
package style
