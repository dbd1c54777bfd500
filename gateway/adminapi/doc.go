// Package adminapi is the admin API's wire format: the JSON of every
// request and answer, and the error codes of failed ones. The server
// (package gateway) and the client (revgate revoke, status, unrevoke) both
// use it, so they cannot disagree, and a client decides by Code, never by
// message text.
package adminapi
