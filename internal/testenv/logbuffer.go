package testenv

import "github.com/authmesh/authmesh/internal/proc"

// LogBuffer is a log sink safe for concurrent writes (a slog handler's,
// a child process's) that the test reads back with String.
type LogBuffer = proc.Buffer
