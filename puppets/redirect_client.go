package puppets

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The ordinary client and a redirecting homeserver address. Go's
// http.Client follows a 301, 302 or 303 answer to a PUT or POST with a
// GET and no body (a 303 always, 301 and 302 as browsers do). Every
// request that changes anything on the homeserver (a send, a join, an
// invite, a createRoom, an upload) would then reach it as a GET of the
// same path, which it answers with M_UNRECOGNIZED or 405: the whole
// bridge fails, and no error says why. So the ordinary client refuses
// such a redirect, with an error that names its target and the fix, and
// the log says so once. 307 and 308 keep the method and the body and are
// still followed, as are redirects of GET and HEAD. (Pipelined sends have
// their own client, which follows no redirect: pipeline_redirect.go.)

// ErrRedirected marks a request the homeserver address answered with a
// redirect that the request cannot follow.
var ErrRedirected = errors.New("the homeserver address redirects")

// maxRedirects is how many redirects a request follows, as Go's own
// default policy allows (which a CheckRedirect of one's own replaces).
const maxRedirects = 10

// refuseMethodChangingRedirects makes client refuse, from now on, every
// redirect that would turn a request into a GET without its body.
// client is the appservice's, which every ordinary mautrix client of
// Ferry's shares (intents.go), so it is changed in place.
func (m *Matrix) refuseMethodChangingRedirects(client *http.Client) {
	next := client.CheckRedirect
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && req.Response != nil {
			orig := via[len(via)-1]
			status := req.Response.StatusCode
			if changesMethod(orig.Method, status) {
				return m.methodChangingRedirect(orig, status, req.URL.String())
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}

// changesMethod says whether a client following a redirect of status
// sends the request that method had again with another method, or
// without its body.
func changesMethod(method string, status int) bool {
	if method == http.MethodGet || method == http.MethodHead {
		return false
	}
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		return true
	}
	return false
}

// methodChangingRedirect is the error of a request (orig) refused its
// redirect of status to target; the first one is also logged.
func (m *Matrix) methodChangingRedirect(orig *http.Request, status int, target string) error {
	fix := fmt.Sprintf("set homeserver.address to %q", homeserverBase(target))
	if m.firstRedirectWarning(orig.URL.String()) {
		m.Log.Warn().Int("status", status).Str("method", orig.Method).Str("redirect_to", target).
			Msg("The homeserver address redirects with a status that turns a PUT or POST into a GET; sends, joins and room creation fail until you " + fix)
	}
	return fmt.Errorf("%w (HTTP %d to %s), which a %s cannot follow: it would become a GET; %s",
		ErrRedirected, status, target, orig.Method, fix)
}

// firstRedirectWarning says whether the redirect of a request to address
// (a homeserver address, or a request's URL under it) that a PUT or POST
// cannot follow is the first the log is to tell of for that address.
// The pipeline and the ordinary client meet the same redirect, and one
// warning of it is enough.
func (m *Matrix) firstRedirectWarning(address string) bool {
	_, warned := m.redirectWarned.LoadOrStore(redirectingAddress(address), struct{}{})
	return !warned
}

// redirectingAddress is the homeserver address of address, in one
// spelling: its scheme and host lower-cased, its path up to /_matrix/
// without a trailing slash.
func redirectingAddress(address string) string {
	base := homeserverBase(address)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return base
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimSuffix(u.EscapedPath(), "/")
}
