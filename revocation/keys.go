package revocation

import "encoding/base64"

// DefaultKeyPrefix is the key prefix when revocation.redis.key_prefix is
// not set.
const DefaultKeyPrefix = "revgate:"

// Key layout, after the prefix:
//
//	t:<enc(jti)>      revoked jti; value: its expiry, unix seconds
//	u:<enc(jti)>      used refresh jti; value: its expiry, unix seconds
//	s:<enc(subject)>  subject mark; value: the mark, unix seconds
//	g                 global mark; value: the mark, unix seconds
//
// The one-letter tags keep keys short: Redis pays for every byte of every
// key, and revoked jtis are the bulk of the data.
const (
	tagToken   = "t:"
	tagUsed    = "u:"
	tagSubject = "s:"
	tagGlobal  = "g"
)

// EncodeKeyPart encodes a jti or subject for use in a key: unpadded
// base64url of its bytes. The encoding is injective (two different strings,
// even invalid UTF-8, never share a key), it never emits '{' or '}' so a
// value cannot form a Redis Cluster hash tag and pin keys to one slot, and
// it never emits ':' so it cannot be confused with the layout's separators.
func EncodeKeyPart(s string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// keys builds the keys of one key prefix.
type keys struct{ prefix string }

func (k keys) token(jti string) string { return k.prefix + tagToken + EncodeKeyPart(jti) }
func (k keys) used(jti string) string  { return k.prefix + tagUsed + EncodeKeyPart(jti) }
func (k keys) subject(s string) string { return k.prefix + tagSubject + EncodeKeyPart(s) }
func (k keys) global() string          { return k.prefix + tagGlobal }
