package web

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/authmesh/authmesh/internal/auth"
	"github.com/authmesh/authmesh/internal/origin"
)

// LinkService is what the pages of the mailed links need of the auth use
// cases; *auth.Service implements it. Errors are *auth.Error values.
type LinkService interface {
	// CheckEmailLink and CheckResetLink look at a link's token without
	// spending it (INVALID_TOKEN, TOKEN_EXPIRED).
	CheckEmailLink(ctx context.Context, token string) error
	CheckResetLink(ctx context.Context, token string) error
	VerifyEmail(ctx context.Context, token string) error
	ResetPassword(ctx context.Context, token, newPassword string) error
}

// LinkPages serves the pages the mailed links open, auth.VerifyEmailPath
// and auth.ResetPasswordPath: a GET shows a form and spends nothing (mail
// scanners follow links); only the form's POST spends the token. No
// script, nothing loaded from elsewhere. It is safe for concurrent use.
type LinkPages struct {
	svc     LinkService
	origins *origin.Policy
	log     *slog.Logger
}

// NewLinkPages returns the pages over svc; origins are the allowed origins
// besides the service's own (ALLOWED_ORIGINS), whose forms may post.
func NewLinkPages(svc LinkService, origins *origin.Policy, log *slog.Logger) (*LinkPages, error) {
	if svc == nil {
		return nil, errors.New("web: NewLinkPages: nil LinkService")
	}
	if origins == nil {
		origins, _ = origin.New(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	return &LinkPages{svc: svc, origins: origins, log: log}, nil
}

// linkCSP allows the pages nothing but their inline style and posting
// their form to the service itself.
const linkCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxFormBytes bounds a page's form body.
const maxFormBytes = 16 << 10

// page is what the pages' template shows.
type page struct {
	Title    string
	Message  string // the outcome or the question
	Error    bool   // Message is a refusal
	Action   string // the form's path; "" = no form
	Token    string
	Password bool   // the form asks for a new password
	Button   string // the submit button's label
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>{{.Title}} · authmesh</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 30em; margin: 3em auto; padding: 0 1em; line-height: 1.5; color: #222 }
.error { color: #a00 }
label, input, button { display: block; font-size: 1em; margin: .5em 0 }
input { width: 100%; padding: .4em; box-sizing: border-box }
button { padding: .5em 1.2em }
</style></head>
<body>
<h1>{{.Title}}</h1>
<p{{if .Error}} class="error" role="alert"{{end}}>{{.Message}}</p>
{{if .Action}}<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
{{if .Password}}<label for="password">New password (8 to 128 characters)</label>
<input type="password" id="password" name="password" autocomplete="new-password" minlength="8" maxlength="128" required autofocus>
{{end}}<button type="submit">{{.Button}}</button>
</form>{{end}}
</body></html>
`))

// VerifyEmail serves auth.VerifyEmailPath: GET shows the confirmation
// form, POST consumes the token.
func (p *LinkPages) VerifyEmail(w http.ResponseWriter, r *http.Request) {
	const title = "Confirm your email address"
	form := page{Title: title, Action: auth.VerifyEmailPath, Button: "Confirm my email address",
		Message: "Press the button to confirm your email address."}
	p.serve(w, r, form, p.svc.CheckEmailLink, func(ctx context.Context, tok string) (page, error) {
		if err := p.svc.VerifyEmail(ctx, tok); err != nil {
			return page{}, err
		}
		return page{Title: "Email address confirmed", Message: "Your email address is confirmed. You can close this page."}, nil
	})
}

// ResetPassword serves auth.ResetPasswordPath: GET shows the new-password
// form, POST consumes the token and sets the password.
func (p *LinkPages) ResetPassword(w http.ResponseWriter, r *http.Request) {
	const title = "Choose a new password"
	form := page{Title: title, Action: auth.ResetPasswordPath, Password: true, Button: "Set the new password",
		Message: "Enter the new password for your account. Every device signed in to it will be signed out."}
	p.serve(w, r, form, p.svc.CheckResetLink, func(ctx context.Context, tok string) (page, error) {
		if err := p.svc.ResetPassword(ctx, tok, r.PostFormValue("password")); err != nil {
			return page{}, err
		}
		return page{Title: "Password changed", Message: "Your password was changed and every device was signed out. Sign in with the new password."}, nil
	})
}

// serve runs a link page: GET checks the token and shows form; POST
// (same-origin only) runs consume.
func (p *LinkPages) serve(w http.ResponseWriter, r *http.Request, form page,
	check func(context.Context, string) error, consume func(context.Context, string) (page, error)) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		tok := r.URL.Query().Get("token")
		if tok == "" {
			p.render(w, http.StatusBadRequest, page{Title: form.Title, Error: true,
				Message: "This link is incomplete: open the whole link from the message we sent you."})
			return
		}
		if err := check(r.Context(), tok); err != nil {
			p.refuse(w, r, form, err, false)
			return
		}
		form.Token = tok
		p.render(w, http.StatusOK, form)
	case http.MethodPost:
		if err := p.sameOrigin(r); err != nil {
			p.render(w, http.StatusForbidden, page{Title: form.Title, Error: true, Message: csrfMessage(err)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			p.render(w, http.StatusBadRequest, page{Title: form.Title, Error: true, Message: "The form could not be read; open the link from the message again."})
			return
		}
		tok := r.PostFormValue("token")
		done, err := consume(r.Context(), tok)
		if err != nil {
			form.Token = tok
			p.refuse(w, r, form, err, true)
			return
		}
		p.render(w, http.StatusOK, done)
	default:
		w.Header().Set("Allow", "GET, POST")
		p.render(w, http.StatusMethodNotAllowed, page{Title: form.Title, Error: true, Message: "Open the link from the message."})
	}
}

// refuse shows a refused token (400, no form) or, when the token was fine
// but the input was not (a password outside the policy), the form again.
func (p *LinkPages) refuse(w http.ResponseWriter, r *http.Request, form page, err error, posted bool) {
	switch auth.ErrorCode(err) {
	case auth.CodeInvalidToken, auth.CodeTokenExpired, auth.CodeEmailTaken:
		p.render(w, http.StatusBadRequest, page{Title: form.Title, Error: true, Message: auth.ErrorMessage(err)})
	case auth.CodeBadUserInput:
		if posted && form.Password {
			form.Error, form.Message = true, auth.ErrorMessage(err)
			p.render(w, http.StatusBadRequest, form)
			return
		}
		p.render(w, http.StatusBadRequest, page{Title: form.Title, Error: true, Message: auth.ErrorMessage(err)})
	default:
		p.log.ErrorContext(r.Context(), "web: link page failed", "path", r.URL.Path, "err", err)
		p.render(w, http.StatusInternalServerError, page{Title: form.Title, Error: true,
			Message: "Something went wrong on our side; the link was not used. Try again in a moment."})
	}
}

// sameOrigin applies the cookie transport's origin rule to a form post:
// a browser's Origin (or Sec-Fetch-Site) must name this service or an
// allowed origin. A form cannot send the transport header, so it is
// implied here.
func (p *LinkPages) sameOrigin(r *http.Request) error {
	h := r.Header.Clone()
	h.Set(origin.TransportHeader, origin.TransportCookie)
	rr := *r
	rr.Header = h
	return p.origins.Check(&rr)
}

func (p *LinkPages) render(w http.ResponseWriter, status int, pg page) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", linkCSP)
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTemplate.Execute(w, pg)
}
