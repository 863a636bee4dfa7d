package session

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// RedisLogger adapts log for go-redis' process-wide logger, so that
// go-redis' own messages (a dial that failed, a pool that could not
// reconnect) come out as structured lines with the same handler and fields
// as the validator's, instead of raw "redis: ..." lines on stderr. Messages
// are logged at Warn with component=go-redis. A nil log means
// slog.Default().
//
// go-redis has one logger per process, so this package never installs it:
// a service embedding the validator installs it once, in its main wiring,
// before creating the validator:
//
//	redis.SetLogger(session.RedisLogger(log))
//
// RedisLogger's result is safe for concurrent use.
func RedisLogger(log *slog.Logger) *RedisLog {
	if log == nil {
		log = slog.Default()
	}
	return &RedisLog{log: log}
}

// RedisLog is go-redis' logger (redis.SetLogger) writing to a slog.Logger;
// make one with RedisLogger.
type RedisLog struct{ log *slog.Logger }

// Printf logs one go-redis message.
func (l *RedisLog) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimPrefix(strings.TrimSpace(fmt.Sprintf(format, v...)), "redis: ")
	l.log.WarnContext(ctx, "go-redis: "+msg, "component", "go-redis")
}
