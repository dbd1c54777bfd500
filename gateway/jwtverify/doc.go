// Package jwtverify verifies JWTs: it loads key sets (JWKS URL with a
// background refresh and unknown-kid refetch, JWKS file, PEM keys, an HMAC
// secret), keeps one algorithm table (each algorithm's key type and
// minimum key size), checks signatures and claims (exp, nbf, iat, iss, aud,
// lifetime, required claims), canonicalises the subject and caches verified
// tokens. It knows nothing of HTTP serving: the gateway's listeners,
// `revgate config check` and `revgate token mint` all use it.
package jwtverify
