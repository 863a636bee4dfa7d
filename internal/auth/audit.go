package auth

import (
	"context"
	"errors"
	"time"
)

var errNoAudit = errors.New("auth: Config.Audit is not set")

// The audit trail: every security event is emitted as a structured log
// line ("audit", with its fields) and, when Config.Audit is set, stored
// for AUDIT_RETENTION and readable through the admin API.

// AuditEvent is one security event. It never carries a token or password.
type AuditEvent struct {
	At        time.Time
	Event     string // one of the Event* names
	UserID    string
	SessionID string
	IP        string
	UserAgent string
	// Detail is a short explanation (the email of a failed login, the
	// admin action's argument...).
	Detail string
}

// The events recorded.
const (
	EventLoginSucceeded  = "login.succeeded"
	EventLoginFailed     = "login.failed"
	EventLogout          = "logout"
	EventLogoutAll       = "logout.all"
	EventRefreshReused   = "refresh.reused"
	EventSessionRevoked  = "session.revoked" // by its user (revokeSession)
	EventPasswordChanged = "password.changed"
	EventKeyWithdrawn    = "key.withdrawn"  // server keys withdraw
	EventRevokedBefore   = "revoked.before" // revoke-before, any surface
	EventAdminAction     = "admin"
)

// Audit stores the audit trail; *store.DB implements it.
type Audit interface {
	// RecordEvent stores e.
	RecordEvent(ctx context.Context, e AuditEvent) error
	// Events returns the newest events first, at most limit, of userID
	// only when it is not "".
	Events(ctx context.Context, userID string, limit int) ([]AuditEvent, error)
	// PruneEvents deletes the events older than before and returns how
	// many it deleted.
	PruneEvents(ctx context.Context, before time.Time) (int64, error)
}

// audit records e: a log line always, a stored row when Config.Audit is
// set. A storage failure is logged, never returned: the action it records
// has already happened.
func (s *Service) audit(ctx context.Context, e AuditEvent) {
	if e.At.IsZero() {
		e.At = s.now()
	}
	s.log.Info("audit", "event", e.Event, "user_id", e.UserID, "session_id", e.SessionID,
		"ip", e.IP, "user_agent", e.UserAgent, "detail", e.Detail)
	if s.cfg.Audit == nil {
		return
	}
	if err := s.cfg.Audit.RecordEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit: record event", "event", e.Event, "err", err)
	}
}

// AdminAudit records an admin action (action, e.g. "user.disable", and its
// argument) done from the client client; the admin API calls it.
func (s *Service) AdminAudit(ctx context.Context, action, userID, detail string, client ClientInfo) {
	if detail != "" {
		action += " " + detail
	}
	s.audit(ctx, AuditEvent{Event: EventAdminAction, UserID: userID, IP: client.IP, UserAgent: clean(client.UserAgent, 512), Detail: action})
}

// AuditEvents returns the newest stored security events first (at most
// limit, 1 to 1000), of one user when userID is not "".
func (s *Service) AuditEvents(ctx context.Context, userID string, limit int) ([]AuditEvent, error) {
	if s.cfg.Audit == nil {
		return nil, internal("audit", errNoAudit)
	}
	if limit <= 0 || limit > 1000 {
		return nil, newError(CodeBadUserInput, "limit must be from 1 to 1000")
	}
	if len(userID) > 64 {
		return nil, newError(CodeBadUserInput, "user id is too long")
	}
	list, err := s.cfg.Audit.Events(ctx, userID, limit)
	if err != nil {
		return nil, internal("read audit events", err)
	}
	if list == nil {
		list = []AuditEvent{}
	}
	return list, nil
}
