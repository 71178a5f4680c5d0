package packaging

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/goreleaser/nfpm/v2"

	"harpy/hint"
	"harpy/safefile"
)

// checkSigningKey fails early, with a clear message, on a key nfpm could not
// sign with: not a readable regular file, not PGP, no private signing key, wrong
// passphrase.
func checkSigningKey(path, passphrase string) error {
	h := "pass --sign-key an ASCII-armored PGP private key file (gpg --armor --export-secret-keys ID > key.asc) and its passphrase"
	b, err := safefile.ReadFile(path, safefile.MaxKey)
	if err != nil {
		return hint.With(fmt.Errorf("--sign-key: %w", err), "%s", h)
	}
	var list openpgp.EntityList
	if bytes.Contains(b, []byte("-----BEGIN PGP")) {
		list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return hint.With(fmt.Errorf("--sign-key %s: not a PGP key: %w", path, err), "%s", h)
	}
	var key *openpgp.Entity
	for _, e := range list {
		if e.PrivateKey != nil && e.PrivateKey.CanSign() {
			if key != nil {
				return hint.With(fmt.Errorf("--sign-key %s: more than one signing key", path), "export just one key")
			}
			key = e
		}
	}
	if key == nil {
		return hint.With(fmt.Errorf("--sign-key %s: no private signing key (a public key?)", path), "%s", h)
	}
	if key.PrivateKey.Encrypted {
		if passphrase == "" {
			return hint.With(fmt.Errorf("--sign-key %s is encrypted and no passphrase was given", path), "set the passphrase (HARPY_SIGN_PASSPHRASE)")
		}
		if err := key.PrivateKey.Decrypt([]byte(passphrase)); err != nil {
			return hint.With(fmt.Errorf("--sign-key %s: wrong passphrase: %w", path, err), "check the passphrase in HARPY_SIGN_PASSPHRASE")
		}
	}
	return nil
}

// signingHint points a signing failure at the key.
func signingHint(err error) error {
	var se *nfpm.ErrSigningFailure
	if errors.As(err, &se) {
		return hint.With(err, "check --sign-key and its passphrase")
	}
	return err
}
