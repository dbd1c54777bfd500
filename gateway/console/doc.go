// Package console is revgate's admin console: server-rendered pages on the
// admin listener (/console/) for the people who revoke. It looks up,
// revokes and unrevokes through the admin API, called in process as the
// signed-in admin token's name, so the console and the API cannot differ
// in validation, records or audit; it reads the shared trail of recent
// changes and the gateway's status. Templates and CSS are embedded: no
// build step, no CDN, no script.
package console
