// Package session validates authmesh access tokens inside a microservice,
// locally and in microseconds, while keeping a copy of the revocation state
// that is never behind for long.
//
// A SessionValidator checks a token's signature (HS256 with a shared secret,
// or the auth service's asymmetric keys fetched from its JWKS), its issuer,
// audience, type and lifetime, then consults an in-memory revocation set. No
// network call happens on the request path. The revocation set is kept in
// sync in the background, from Redis (pub/sub plus a durable log) or from the
// auth service's revocation feed, and it catches up on everything missed
// after a disconnect or a late start.
//
// Until the first snapshot of the revocation state has loaded, the validator
// accepts no token: the middleware answers 503 with Retry-After.
//
//	v, err := session.NewSessionValidator(session.Config{
//		JWTSecret: os.Getenv("JWT_SECRET"),
//		RedisAddr: os.Getenv("REDIS_ADDR"),
//	})
//	if err != nil { ... }
//	defer v.Close()
//	go v.SubscribeToInvalidations(ctx)
//	http.Handle("/api/", session.HTTPMiddleware(v)(api))
//
// # Logging
//
// The validator logs through Config.Logger (slog.Default() when unset). The
// Redis client it uses is go-redis, whose own messages go to one logger per
// process that this package never sets: install RedisLogger once from your
// main, so those messages are structured lines too:
//
//	redis.SetLogger(session.RedisLogger(log))
package session
