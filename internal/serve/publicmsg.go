package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
)

// addressHidden stands, in messages for users and clients, for an address
// that only Dex's log shows.
const addressHidden = "<an address shown in Dex's log>"

// publicMessage is err's message for users and clients (Dex's error page,
// invalid_grant descriptions). The connector's messages never hold token
// material, but they name where Palette and the catalog are, and Go's
// network errors name addresses: the host, its IP address and port, the
// DNS server that failed to resolve it. A failed request is told in plain
// words instead ("could not be reached (connection refused)", "did not
// answer in time"), and any address-shaped text that remains is replaced by
// a pointer to Dex's log, which has the whole message.
func publicMessage(err error) string {
	msg := err.Error()
	if ne := outermostNetworkError(err); ne != nil {
		words := networkWords(ne)
		if words == "" {
			// A request that failed for another reason (a body too large,
			// a redirect refused): its reason without the URL.
			var ue *url.Error
			if errors.As(ne, &ue) {
				words = ue.Err.Error()
			}
		}
		if words != "" {
			msg = strings.Replace(msg, ne.Error(), words, 1)
		}
	}
	// Messages that carry a network error as text, not in their chain.
	msg = networkErrorText.ReplaceAllStringFunc(msg, func(s string) string {
		m := networkErrorText.FindStringSubmatch(s)
		return reasonWords(m[2] != "", m[3])
	})
	return addressText.ReplaceAllString(msg, addressHidden)
}

// outermostNetworkError returns the outermost error of err's chain that is
// Go's error for a failed request, connection or name lookup, or nil.
func outermostNetworkError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return de
	}
	return nil
}

// networkWords says in plain words why a request failed on the network;
// "" when err's chain holds no network failure.
func networkWords(err error) string {
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		tlsErr  tls.RecordHeaderError
		opErr   *net.OpError
		timeout interface{ Timeout() bool }
	)
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "could not be reached (its host name does not resolve)"
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return "could not be reached (looking up its host name timed out)"
	case errors.As(err, &dnsErr):
		return "could not be reached (its host name could not be looked up)"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		return "did not answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "could not be reached (connection refused)"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "could not be reached (the connection was closed)"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "could not be reached (no route to its host)"
	case errors.As(err, &certErr):
		return "could not be reached (its TLS certificate is not trusted)"
	case errors.As(err, &tlsErr):
		return "could not be reached (it does not answer with TLS)"
	case errors.As(err, &opErr):
		return "could not be reached"
	}
	return ""
}

// networkErrorText matches the text Go gives a failed request or
// connection, optionally behind the URL of the request: `Post "<url>":
// dial tcp <address>: [lookup <name> on <DNS server>: [read udp
// <address>-><address>: ]][connect: ]<reason>`, and `read tcp
// <address>-><address>: read: <reason>`. Submatch 2 is the lookup, if
// any; 3 the reason.
var networkErrorText = regexp.MustCompile(`(?:(?:Get|Post|Head|Put|Patch|Delete|Options) "[^"]*": )?` +
	`((?:dial|read|write) (?:tcp|udp)[46]?(?: \S+?)?: )(lookup \S+?(?: on \S+?)?: )?` +
	`(?:(?:dial|read|write) (?:tcp|udp)[46]?(?: \S+?)?: )?(?:(?:connect|read|write): )?([a-zA-Z/ ]+)`)

// reasonWords is networkWords for the reason a network error's text gives,
// after a failed name lookup or not.
func reasonWords(lookup bool, reason string) string {
	r := strings.ToLower(reason)
	switch {
	case strings.Contains(r, "no such host"):
		return "could not be reached (its host name does not resolve)"
	case lookup && strings.Contains(r, "timeout"):
		return "could not be reached (looking up its host name timed out)"
	case lookup, strings.Contains(r, "server misbehaving"):
		return "could not be reached (its host name could not be looked up)"
	case strings.Contains(r, "timeout"), strings.Contains(r, "deadline exceeded"):
		return "did not answer in time"
	case strings.Contains(r, "connection refused"):
		return "could not be reached (connection refused)"
	case strings.Contains(r, "connection reset"), strings.Contains(r, "broken pipe"), strings.Contains(r, "eof"):
		return "could not be reached (the connection was closed)"
	case strings.Contains(r, "no route to host"), strings.Contains(r, "network is unreachable"):
		return "could not be reached (no route to its host)"
	}
	return "could not be reached"
}

// addressText matches what names a host on the network: a URL, an IPv4
// address or an IPv6 address (with or without a port), a dotted host name
// with a port, localhost, and the name after "lookup".
var addressText = regexp.MustCompile(strings.Join([]string{
	`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]*[^\s"'<>.,;:)]`,
	`\[[0-9A-Fa-f:.%]+\](?::\d+)?`,
	`\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`,
	`[0-9A-Fa-f]{0,4}::[0-9A-Fa-f]{1,4}[0-9A-Fa-f:.]*`,
	`\b(?:[0-9A-Fa-f]{1,4}:){4,7}[0-9A-Fa-f]{1,4}\b`,
	`\b(?:[A-Za-z0-9-]+\.)+[A-Za-z][A-Za-z0-9-]*:\d{1,5}\b`,
	`\blocalhost(?::\d+)?\b`,
	`\blookup \S+`,
}, "|"))
