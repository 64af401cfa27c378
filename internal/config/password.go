package config

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/crypto/bcrypt"

	"github.com/dexidp/dex/storage"
)

// Password is an entry of `staticPasswords`: a local user of the password
// database.
type Password storage.Password

// passwordFields are the keys of a `staticPasswords` entry.
type passwordFields struct {
	Email             string   `json:"email"`
	Username          string   `json:"username"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferredUsername"`
	EmailVerified     *bool    `json:"emailVerified"`
	UserID            string   `json:"userID"`
	Hash              string   `json:"hash"`
	HashFromEnv       string   `json:"hashFromEnv"`
	Groups            []string `json:"groups"`
}

// UnmarshalJSON decodes an entry. The bcrypt hash comes from `hash`, or from
// the environment variable named by `hashFromEnv` when `hash` is empty; it
// may be given as is or base64-encoded.
func (p *Password) UnmarshalJSON(b []byte) error {
	var f passwordFields
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("parse static password: %w", err)
	}
	*p = Password(storage.Password{
		Email:             f.Email,
		Username:          f.Username,
		Name:              f.Name,
		PreferredUsername: f.PreferredUsername,
		EmailVerified:     f.EmailVerified,
		UserID:            f.UserID,
		Groups:            f.Groups,
	})
	hash := f.Hash
	if hash == "" && f.HashFromEnv != "" {
		hash = os.Getenv(f.HashFromEnv)
	}
	if hash == "" {
		return fmt.Errorf("static password %q: no password hash provided", f.Email)
	}
	decoded, err := decodeBcrypt(hash)
	if err != nil {
		return fmt.Errorf("static password %q: %w", f.Email, err)
	}
	p.Hash = decoded
	return nil
}

// decodeBcrypt accepts a bcrypt hash, or the same hash base64-encoded.
func decodeBcrypt(hash string) ([]byte, error) {
	_, plainErr := bcrypt.Cost([]byte(hash))
	if plainErr == nil {
		return []byte(hash), nil
	}
	decoded, err := base64.StdEncoding.DecodeString(hash)
	if err != nil {
		return nil, fmt.Errorf("malformed bcrypt hash: %w", plainErr)
	}
	if _, err := bcrypt.Cost(decoded); err != nil {
		return nil, fmt.Errorf("malformed bcrypt hash: %w", err)
	}
	return decoded, nil
}
