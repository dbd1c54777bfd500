package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// mintRequest describes a token to sign.
type mintRequest struct {
	Subject  string
	Issuer   string
	Audience []string
	TTL      time.Duration
	JTI      string // "" => random
	Claims   map[string]any
	Now      time.Time
}

// randomID returns 128 random bits as hex, for jti values and key ids.
func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// mint signs a JWT with key using alg.
func mint(key jwk.Key, alg jwa.SignatureAlgorithm, req mintRequest) (string, error) {
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	jti := req.JTI
	if jti == "" {
		jti = randomID()
	}
	b := jwt.NewBuilder().
		JwtID(jti).
		IssuedAt(now).
		Expiration(now.Add(req.TTL))
	if req.Subject != "" {
		b = b.Subject(req.Subject)
	}
	if req.Issuer != "" {
		b = b.Issuer(req.Issuer)
	}
	if len(req.Audience) > 0 {
		b = b.Audience(req.Audience)
	}
	for k, v := range req.Claims {
		b = b.Claim(k, v)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("building token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, key))
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	return string(signed), nil
}
