package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// secret is a value that may be given inline or as a file.
type secret struct {
	key, fileKey string  // "jwt.hmac_secret", "jwt.hmac_secret_file"
	inline       *string // the inline field, filled from the file
	file         string
}

// secrets lists every secret of c.
func (c *Config) secrets() []secret {
	s := []secret{
		{"jwt.hmac_secret", "jwt.hmac_secret_file", &c.JWT.HMACSecret, c.JWT.HMACSecretFile},
		{"revocation.redis.password", "revocation.redis.password_file", &c.Revocation.Redis.Password, c.Revocation.Redis.PasswordFile},
		{"revocation.redis.sentinel_password", "revocation.redis.sentinel_password_file", &c.Revocation.Redis.SentinelPassword, c.Revocation.Redis.SentinelPasswordFile},
		{"ssf.push_authorization", "ssf.push_authorization_file", &c.SSF.PushAuthorization, c.SSF.PushAuthorizationFile},
		{"ssf.poll_authorization", "ssf.poll_authorization_file", &c.SSF.PollAuthorization, c.SSF.PollAuthorizationFile},
	}
	for i := range c.Admin.Tokens {
		t := &c.Admin.Tokens[i]
		key := fmt.Sprintf("admin.tokens[%d].token", i)
		s = append(s, secret{key, key + "_file", &t.Token, t.TokenFile})
	}
	for i := range c.OAuth.Clients {
		cl := &c.OAuth.Clients[i]
		key := fmt.Sprintf("oauth.clients[%d].secret", i)
		s = append(s, secret{key, key + "_file", &cl.Secret, cl.SecretFile})
	}
	return s
}

// readSecretFiles fills every inline secret from its *_file.
func readSecretFiles(c *Config, ps *problems) {
	for _, s := range c.secrets() {
		if s.file == "" {
			continue
		}
		if *s.inline != "" {
			ps.add(s.key, "set either %s or %s, not both", s.key, s.fileKey)
			continue
		}
		v, err := ReadSecretFile(s.file)
		if err != nil {
			ps.add(s.fileKey, "%v", err)
			continue
		}
		*s.inline = v
	}
}

// ReadSecretFile returns a secret file's content without trailing
// whitespace (the newline editors and `echo` add); an empty one is an
// error. Every reader of a secret file uses it, so the gateway and the CLI
// read the same secret from the same file. Its errors name the file, never
// what it holds.
func ReadSecretFile(path string) (string, error) {
	b, err := ReadFile(path)
	if err != nil {
		return "", err
	}
	v := strings.TrimRight(string(b), " \t\r\n")
	if v == "" {
		return "", fmt.Errorf("%q is empty", path)
	}
	return v, nil
}

// ReadFile is os.ReadFile with an error that names the file and the reason
// only ("cannot read "/x": permission denied"), without Go's operation
// prefix, for messages that are shown to people.
func ReadFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		reason := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err
		}
		return nil, fmt.Errorf("cannot read %q: %v", path, reason)
	}
	return b, nil
}
