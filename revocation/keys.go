package revocation

import (
	"crypto/sha256"
	"encoding/base64"
)

// DefaultKeyPrefix is the key prefix when RedisOptions.KeyPrefix is not
// set.
const DefaultKeyPrefix = "revgate:"

// Key layout, after the prefix:
//
//	t:<digest(jti)>   revoked jti; value: 1, expiring with the record
//	u:<digest(jti)>   used refresh jti; value: a nonce of the call that
//	                  recorded it (see usedSrc), expiring with the record
//	s:<enc(subject)>  subject mark; value: the mark, unix seconds
//	l:<digest(sid)>   revoked session (the identity provider's login
//	                  session, jwt.session_claim); value: 1, expiring with
//	                  the record, like a revoked jti
//	g                 global mark; value: the mark, unix seconds
//	e:<digest(email)> email mark (the Shared Signals receiver's); the
//	                  address in CanonicalEmail form; value: the mark,
//	                  unix seconds
//
// Revoked jtis are the bulk of the data, so their records are as small as
// Redis allows: a fixed 16-byte key part whatever the jti's length, and the
// value 1, which Redis shares between keys instead of storing each time;
// the record's expiry is its key's expiry. The one-letter tags keep every
// key short. An email address is personal data that whoever can list the
// keys (a monitoring tool, a support session) need not read, so its key
// holds a digest of it, as a session's does.
const (
	tagToken   = "t:"
	tagUsed    = "u:"
	tagSubject = "s:"
	tagSession = "l:"
	tagGlobal  = "g"
	tagEmail   = "e:"
)

// EncodeKeyPart encodes a jti or subject for use in a key: unpadded
// base64url of its bytes. The encoding is injective (two different strings,
// even invalid UTF-8, never share a key), it never emits '{' or '}' so a
// value cannot form a Redis Cluster hash tag and pin keys to one slot, and
// it never emits ':' so it cannot be confused with the layout's separators.
func EncodeKeyPart(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DigestJTI is a jti's part of its keys: the first 16 bytes of its
// SHA-256, as raw bytes (Redis keys are binary-safe). Two jtis share a key
// only if they collide in 128 bits, which takes about 2^64 jtis; the
// digest also bounds the key of a 1 KiB jti to the size of a short one.
func DigestJTI(jti string) string {
	sum := sha256.Sum256([]byte(jti))
	return string(sum[:16])
}

// DigestSession is a session id's part of its key, DigestJTI's digest:
// the key's tag, not the digest, keeps a session apart from a jti of the
// same text, and the digest bounds the key of a 1 KiB sid.
func DigestSession(sid string) string { return DigestJTI(sid) }

// DigestEmail is a canonical email address's part of its key, DigestJTI's
// digest: the address is not readable in the key, and the key's tag keeps
// it apart from a jti or session of the same text.
func DigestEmail(address string) string { return DigestJTI(address) }

// keys builds the keys of one key prefix.
type keys struct{ prefix string }

func (k keys) token(jti string) string   { return k.prefix + tagToken + DigestJTI(jti) }
func (k keys) used(jti string) string    { return k.prefix + tagUsed + DigestJTI(jti) }
func (k keys) subject(s string) string   { return k.prefix + tagSubject + EncodeKeyPart(s) }
func (k keys) session(sid string) string { return k.prefix + tagSession + DigestSession(sid) }
func (k keys) global() string            { return k.prefix + tagGlobal }

// email is the key of an address already in CanonicalEmail form.
func (k keys) email(address string) string { return k.prefix + tagEmail + DigestEmail(address) }
