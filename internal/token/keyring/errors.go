package keyring

import (
	"errors"
	"fmt"

	"github.com/authmesh/authmesh/internal/token"
)

// Key loading errors.
var (
	// ErrKeySealed: a stored private key is sealed and no key-encryption
	// secret is configured.
	ErrKeySealed = errors.New("keyring: signing key is sealed but no key-encryption secret is configured")
	// ErrKeyUnseal: a sealed private key cannot be opened with the configured
	// key-encryption secret (wrong secret or corrupted record).
	ErrKeyUnseal = errors.New("keyring: cannot unseal signing key (wrong key-encryption secret?)")
)

// invalidConfig wraps token.ErrInvalidConfig with a formatted detail, so
// callers test every constructor's configuration errors alike.
func invalidConfig(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{token.ErrInvalidConfig}, args...)...)
}
