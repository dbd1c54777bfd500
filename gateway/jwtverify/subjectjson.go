package jwtverify

// SubjectFromJSON returns the subject a raw JSON value names, in the
// canonical form Claims.Subject has: a string as is (decoded; it must be
// valid UTF-8 with no lone surrogate escape), a number in canonical
// decimal. Anything else is an error. Front doors that receive a subject
// in a JSON body of their own (Global Token Revocation's sub_id) use it, so
// the subject they mark is the one tokens are checked against.
func SubjectFromJSON(raw []byte) (string, error) { return canonicalSubject(raw) }
